"""How a fused pass spreads its independent work over a CPU's cores: the schedule.

One fused pass is a chain of small matmuls, h_{t-1} U per step forward and dZ_t U^T per
step backward, each waiting for the one before; threading one such matmul over two cores
leaves them partly idle. The rows of a batch are independent streams, so the pass can
instead run as G passes over row groups that share nothing but the weights:

    single:       one pass over all B rows
    batch-split:  G = 2 passes over B / 2 rows each, outputs and states concatenated,
                  weight gradients summed (autodiff adds each weight's uses)

TensorFlow's executor runs ops that do not depend on each other at the same time on its
inter-op pool, so the two chains go side by side, each matmul still free to use the
intra-op pool. Each row's arithmetic is the same in every schedule: results differ only
by the float rounding of the weight gradients' sums (and of oneDNN's blocking, which
depends on the rows), so a run resumed on another machine may take another schedule.

`auto` splits where it measured faster (docs/benchmarks.md): TensorFlow on
a machine without a GPU, at least two cores, at least `MIN_ROWS` rows per group and
`MIN_UNITS` units. On a GPU one pass is already spread over the device; with few units
the per-step op overhead, which two chains double, outweighs the matmuls, and a split
graph takes twice as long to build.
"""

import contextlib
import contextvars
import os

SCHEDULES = ("auto", "single", "batch-split")
# What a pass takes outside any `fused_schedule` and what `--schedule` defaults to.
DEFAULT_SCHEDULE = "auto"
MIN_ROWS = 8  # rows per group; a split LSTM pass at 256 units measured 1.45x faster at 8 (docs/benchmarks.md)
MIN_UNITS = 128  # the fewest units measured faster split (1.10x-1.33x at 128)

_schedule = contextvars.ContextVar("fused_schedule", default=DEFAULT_SCHEDULE)


@contextlib.contextmanager
def fused_schedule(name):
    """Within this context fused passes traced take schedule `name` (one of `SCHEDULES`)."""
    if name not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, received: {name!r}")
    token = _schedule.set(name)
    try:
        yield
    finally:
        _schedule.reset(token)


def cpu_cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def row_groups(batch, units):
    """How many row groups a fused pass over `batch` rows (None: unknown when traced) of
    `units` units takes under the current schedule."""
    import tensorflow as tf

    name = _schedule.get()
    if name == "single" or batch is None or batch < 2:
        return 1
    if name == "batch-split":
        return 2
    if (tf.config.list_logical_devices("GPU") or cpu_cores() < 2 or batch < 2 * MIN_ROWS
            or units < MIN_UNITS):
        return 1
    return 2


def on_current_schedule(sequence, units, x, states, weights, mask):
    """`sequence(x, *states, *weights, mask=mask)` over `x`'s rows as the current schedule
    groups them (`row_groups` of a pass of `units` units, `in_row_groups`)."""
    return in_row_groups(sequence, row_groups(x.shape[0], units), x, states, weights, mask)


def in_row_groups(sequence, groups, x, states, weights, mask):
    """`sequence(x, *states, *weights, mask=mask)` computed as `groups` passes over row
    groups (rows split as evenly as they go), its results concatenated along the rows."""
    import tensorflow as tf

    if groups == 1:
        return sequence(x, *states, *weights, mask=mask)
    batch = x.shape[0]
    sizes = [batch // groups + (g < batch % groups) for g in range(groups)]
    xs = tf.split(x, sizes)
    split_states = [tf.split(s, sizes) for s in states]
    masks = [None] * groups if mask is None else tf.split(mask, sizes)
    parts = [sequence(xs[g], *(s[g] for s in split_states), *weights, mask=masks[g]) for g in range(groups)]
    return [tf.concat(results, axis=0) for results in zip(*parts)]
