"""The zoo's recurrent cells, one per module, each usable inside `keras.layers.RNN`.

`CELLS` is the one list of them: recipes' `--cell` choices, the models and the tests
read it from here.
"""

from zoo.cells.elman import ElmanCell
from zoo.cells.gru import GRUCell
from zoo.cells.lstm import LSTMCell

# `--cell` name -> cell class.
CELLS = {"lstm": LSTMCell, "gru": GRUCell, "elman": ElmanCell}

__all__ = ["CELLS", "ElmanCell", "GRUCell", "LSTMCell"]
