"""rnn-zoo: recurrent cells for Keras, TBPTT training, TensorBoard monitoring."""

from zoo.cells import ElmanCell, GRUCell, LSTMCell
from zoo.recurrent_layer import RecurrentLayer

__all__ = ["ElmanCell", "GRUCell", "LSTMCell", "RecurrentLayer"]
