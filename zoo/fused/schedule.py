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

The threads: where a process's passes split into as many row groups as it has cores (two
on the 2-core machines measured), each group's chain ran faster on a core of its own, its
matmuls unthreaded, than with every small matmul free to thread over both cores, where the
two chains' matmuls contend for the same two intra-op threads. `claim_core_per_group` sets
TensorFlow's intra-op pool to one thread for such a process, before TensorFlow starts;
the inter-op pool, one thread per core, still runs the two chains, and any other
independent ops, side by side. Whole training steps of a 256-unit LSTM ran 1.02x-1.10x
faster so, and the default char_lm job's updates 1.05x (docs/benchmarks.md). Passes that
do not split then run their matmuls on one core, so the pool is only claimed where every
pass of the run splits: the recipe says so (`zoo.run.task.Task.fused_passes_only`) and
its batch and units split.

A training update can split before any pass does: where a pass of the model would split,
`zoo.training.row_groups` runs the whole model once per row group, so the groups stay
apart through every layer, the output layer and the loss, and each group's passes run as
one pass (`single`). `row_groups` is the decision both take.
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


def _check(name):
    if name not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, received: {name!r}")


@contextlib.contextmanager
def fused_schedule(name):
    """Within this context fused passes traced take schedule `name` (one of `SCHEDULES`)."""
    _check(name)
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

    return _groups(_schedule.get(), batch, units, bool(tf.config.list_logical_devices("GPU")))


def _groups(name, batch, units, has_gpu):
    """Row groups of a pass on schedule `name` over `batch` rows of `units` units."""
    if name == "single" or batch is None or batch < 2:
        return 1
    if name == "batch-split":
        return 2
    if has_gpu or cpu_cores() < 2 or batch < 2 * MIN_ROWS or units < MIN_UNITS:
        return 1
    return 2


INTRA_OP_SETTING = "TF_NUM_INTRAOP_THREADS"  # set by the user, it is left alone


def claim_core_per_group(name, batch, units):
    """Give each row group of a process's fused passes a core: TensorFlow's intra-op pool
    of one thread, where passes of `units` units over `batch` rows take as many row groups
    as this process has cores on schedule `name`.

    Returns the intra-op threads set, or None where the pool is left as it is: fewer
    groups than cores (more cores than groups were not measured), a GPU, a pool the
    environment sets (`TF_NUM_INTRAOP_THREADS`), or TensorFlow already started in this
    process (its pool cannot change then). Call it before anything runs TensorFlow.
    """
    import tensorflow as tf

    _check(name)
    has_gpu = bool(tf.config.list_physical_devices("GPU"))  # does not start TensorFlow
    if INTRA_OP_SETTING in os.environ or _groups(name, batch, units, has_gpu) != cpu_cores():
        return None
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:  # already started
        return None
    return 1


def on_current_schedule(sequence, units, x, states, weights, mask):
    """`sequence(x, *states, *weights, mask=mask)` over `x`'s rows as the current schedule
    groups them (`row_groups` of a pass of `units` units, `in_row_groups`)."""
    return in_row_groups(sequence, row_groups(x.shape[0], units), x, states, weights, mask)


def group_sizes(batch, groups):
    """The rows of each of `groups` row groups of `batch` rows, as evenly as they go."""
    return [batch // groups + (g < batch % groups) for g in range(groups)]


def in_row_groups(sequence, groups, x, states, weights, mask):
    """`sequence(x, *states, *weights, mask=mask)` computed as `groups` passes over row
    groups (rows split as evenly as they go), its results concatenated along the rows."""
    import tensorflow as tf

    if groups == 1:
        return sequence(x, *states, *weights, mask=mask)
    sizes = group_sizes(x.shape[0], groups)
    xs = tf.split(x, sizes)
    split_states = [tf.split(s, sizes) for s in states]
    masks = [None] * groups if mask is None else tf.split(mask, sizes)
    parts = [sequence(xs[g], *(s[g] for s in split_states), *weights, mask=masks[g]) for g in range(groups)]
    return [tf.concat(results, axis=0) for results in zip(*parts)]
