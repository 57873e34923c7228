"""rnn-zoo: recurrent cells for Keras, TBPTT training, TensorBoard monitoring."""

from zoo.cells import ElmanCell, GRUCell, LeakyCell, LSTMCell, ReservoirCell, time_scale_spread
from zoo.layers.recurrent import RecurrentLayer

__all__ = ["ElmanCell", "GRUCell", "LSTMCell", "LeakyCell", "RecurrentLayer", "ReservoirCell",
           "time_scale_spread"]
