"""Training progress on the console: a live bar on a terminal, plain lines elsewhere.

A log file or CI output (stdout not a terminal) would otherwise collect thousands of
carriage-return updates with colour codes; there, a plain line is printed every
`ceil(total / LINES)` steps and at the last one.
"""

import math
import sys

import keras

LINES = 20


class Progress:
    """`update(step, values)` after every step; `values` is a list of (name, number).

    Args:
        total: The last step.
        show: False prints nothing.
        stream: Where to write (default sys.stdout); decides bar or lines.
    """

    def __init__(self, total, show=True, stream=None):
        self.total, self.show = total, show
        self.stream = stream or sys.stdout
        self.every = max(1, math.ceil(total / LINES))
        self.bar = None
        if show and self.stream.isatty():
            self.bar = keras.utils.Progbar(total, stateful_metrics=None)

    def update(self, step, values):
        if not self.show:
            return
        if self.bar is not None:
            # Every value is the latest (stateful), not a running mean.
            self.bar.stateful_metrics = {name for name, _ in values}
            self.bar.update(step, values)
        elif step % self.every == 0 or step == self.total:
            shown = ", ".join(f"{name} {value:.4g}" for name, value in values)
            print(f"step {step}/{self.total}: {shown}", file=self.stream, flush=True)
