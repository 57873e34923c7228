"""The zoo's recurrent cells, one per module, each usable inside `keras.layers.RNN`."""

from zoo.cells.elman import ElmanCell
from zoo.cells.gru import GRUCell
from zoo.cells.lstm import LSTMCell

__all__ = ["ElmanCell", "GRUCell", "LSTMCell"]
