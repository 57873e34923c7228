"""Training progress on the console: a live bar on a terminal, plain lines elsewhere.

A log file or CI output (stdout not a terminal) would otherwise collect thousands of
carriage-return updates with colour codes; there, a plain line is printed every
`ceil(total / LINES)` steps and at the last one.
"""

import math
import sys

LINES = 20      # plain lines printed over a whole run
BAR_WIDTH = 30  # characters of a terminal's bar


def readable(name, value):
    """`name value` as people read it: a rate (a name ending in "/s") as `44.1k chars/s`,
    anything else to 4 significant digits (`loss 1.234`)."""
    if not name.endswith("/s"):
        return f"{name} {value:.4g}"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.1f}{suffix} {name}"
    return f"{value:.0f} {name}"


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
        self.live = show and self.stream.isatty()

    def update(self, step, values):
        if not self.show or not (self.live or step % self.every == 0 or step == self.total):
            return  # a log's line is due only every `every` steps: format nothing until then
        shown = ", ".join(readable(name, value) for name, value in values)
        if self.live:
            # One line rewritten in place: the bar, the step and the latest values.
            filled = BAR_WIDTH * step // self.total
            bar = "=" * filled + (">" if filled < BAR_WIDTH else "") + " " * (BAR_WIDTH - filled - 1)
            end = "\n" if step == self.total else ""
            print(f"\r{step}/{self.total} [{bar[:BAR_WIDTH]}] {shown}\x1b[K", end=end, file=self.stream, flush=True)
        else:
            print(f"step {step}/{self.total}: {shown}", file=self.stream, flush=True)
