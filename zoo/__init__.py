"""rnn-zoo: recurrent cells for Keras, TBPTT training, TensorBoard monitoring."""

from zoo.run.console import quiet_start_up, started_from_command_line

# `python -m zoo.sample` (or a recipe, or export, which import zoo first): TensorFlow
# starts without its C++ start-up lines unless --verbose (zoo.run.console).
if started_from_command_line():
    quiet_start_up()

from zoo.cells import ElmanCell, GRUCell, LeakyCell, LSTMCell, ReservoirCell, time_scale_spread
from zoo.layers.recurrent import RecurrentLayer


def __getattr__(name):
    """`zoo.callbacks`, `zoo.training`, ... after a bare `import zoo`: imported when first
    read, so that `import zoo` stays light (those are TensorFlow code)."""
    if name in ("callbacks", "data", "decoding", "evaluation", "models", "training"):
        import importlib

        return importlib.import_module(f"zoo.{name}")
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


__all__ = ["ElmanCell", "GRUCell", "LSTMCell", "LeakyCell", "RecurrentLayer", "ReservoirCell",
           "time_scale_spread"]
