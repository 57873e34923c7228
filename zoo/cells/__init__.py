"""The zoo's recurrent cells, one per module, each usable inside `keras.layers.RNN`.

`CELLS` is the one list of them: recipes' `--cell` choices, the models and the tests
read it from here, and build them with `make_cell`.
"""

from zoo.cells.elman import ElmanCell
from zoo.cells.gru import GRUCell
from zoo.cells.leaky import LeakyCell, time_scale_spread
from zoo.cells.lstm import LSTMCell
from zoo.cells.reservoir import ReservoirCell

# `--cell` name -> cell class.
CELLS = {"lstm": LSTMCell, "gru": GRUCell, "elman": ElmanCell, "leaky": LeakyCell,
         "reservoir": ReservoirCell}

__all__ = ["CELLS", "ElmanCell", "GRUCell", "LSTMCell", "LeakyCell", "ReservoirCell",
           "make_cell", "time_scale_spread"]


def make_cell(kind, units, dropout=0.0, seed=0, name=None, **options):
    """A new `CELLS[kind]` cell of `units` units: `dropout` on its input (variational) and
    `seed` for its dropout masks, or, for the reservoir, for its fixed weights (which
    takes no dropout); `options` are the class's own arguments (`leak=...`, say)."""
    if kind == "reservoir":
        if dropout:
            raise ValueError("ReservoirCell takes no dropout: its weights are fixed, and "
                             "only the readout learns")
        return ReservoirCell(units, seed=seed, name=name, **options)
    return CELLS[kind](units, dropout=dropout, seed=seed, name=name, **options)
