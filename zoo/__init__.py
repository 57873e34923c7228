"""rnn-zoo: recurrent cells for Keras, TBPTT training, TensorBoard monitoring."""

import os
import sys

# Started as `python -m zoo...` (argv[0] is "-m" while Python locates the module, and
# only then): TensorFlow's C++ start-up lines stay hidden unless --verbose is given.
# Imported as a library, the environment is left as the user set it.
if sys.argv[:1] == ["-m"] and "--verbose" not in sys.argv:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo.cells import ElmanCell, GRUCell, LeakyCell, LSTMCell, ReservoirCell, time_scale_spread
from zoo.layers.recurrent import RecurrentLayer

__all__ = ["ElmanCell", "GRUCell", "LSTMCell", "LeakyCell", "RecurrentLayer", "ReservoirCell",
           "time_scale_spread"]
