"""The zoo's recurrent cells, one per module, each usable inside `keras.layers.RNN`.

`CELLS` is the one list of the cells whose output and every state are [batch, units],
which every recipe's models assume (`--cell` choices, bidirectional merges, attention,
served states); `MEMORY_AND_CLOCK_CELLS` holds the Neural Turing Machine (output
[batch, units + M], a flat memory state) and the Clockwork RNN (a step-counter state),
which `recipes.long_range` sweeps beside them. Models and tests build every one with
`make_cell`.
"""

from zoo.cells.clockwork import ClockworkCell
from zoo.cells.elman import ElmanCell
from zoo.cells.gru import GRUCell
from zoo.cells.leaky import LeakyCell, time_scale_spread
from zoo.cells.lstm import LSTMCell
from zoo.cells.ntm import NTMCell
from zoo.cells.reservoir import ReservoirCell

# `--cell` name -> cell class.
CELLS = {"lstm": LSTMCell, "gru": GRUCell, "elman": ElmanCell, "leaky": LeakyCell,
         "reservoir": ReservoirCell}
# Cells that take no dropout and carry more than [batch, units] (module docstring).
MEMORY_AND_CLOCK_CELLS = {"ntm": NTMCell, "clockwork": ClockworkCell}

__all__ = ["CELLS", "MEMORY_AND_CLOCK_CELLS", "ClockworkCell", "ElmanCell", "GRUCell", "LSTMCell",
           "LeakyCell", "NTMCell", "ReservoirCell", "make_cell", "time_scale_spread"]


def make_cell(kind, units, dropout=0.0, seed=0, name=None, **options):
    """A new `CELLS[kind]` (or `MEMORY_AND_CLOCK_CELLS[kind]`) cell of `units` units:
    `dropout` on its input (variational) and `seed` for its dropout masks, or, for the
    reservoir, for its fixed weights (which takes no dropout); `options` are the class's
    own arguments (`leak=...`, say). The NTM and Clockwork cells take no dropout."""
    if kind in MEMORY_AND_CLOCK_CELLS:
        if dropout:
            raise ValueError(f"{MEMORY_AND_CLOCK_CELLS[kind].__name__} takes no dropout")
        return MEMORY_AND_CLOCK_CELLS[kind](units, name=name, **options)
    if kind == "reservoir":
        if dropout:
            raise ValueError("ReservoirCell takes no dropout: its weights are fixed, and "
                             "only the readout learns")
        return ReservoirCell(units, seed=seed, name=name, **options)
    return CELLS[kind](units, dropout=dropout, seed=seed, name=name, **options)
