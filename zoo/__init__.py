"""rnn-zoo: recurrent cells for Keras, TBPTT training, TensorBoard monitoring."""

from zoo.cells import ElmanCell, GRUCell, LSTMCell

__all__ = ["ElmanCell", "GRUCell", "LSTMCell"]
