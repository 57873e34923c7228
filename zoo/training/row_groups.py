"""An update in row groups: the model run once per group of the batch's rows, side by side.

The rows of a batch are independent streams, so one update's forward and backward pass
can run as G calls of the model over row groups that share nothing but the weights:

    loss = sum_g (rows_g / batch) * loss_g        (the mean over all rows)
    carried state = the groups' final states, concatenated in row order
    gradients: autodiff sums each weight's uses over the groups

TensorFlow's executor runs the groups' ops side by side on its inter-op pool. Where the
fused passes would split into row groups (`zoo.fused.schedule.row_groups`), splitting the
whole update instead keeps the groups apart from the embedding through the stacked layers,
the output layer and the loss, where a split in every pass joins the groups after each
layer and runs the rest over the whole batch on one core (the pool a recipe then takes,
`claim_core_per_group`). Each group's passes run as one pass (`single`). Whole training
steps of the benchmarks' language model ran 1.02x-1.05x faster with two 256-unit LSTM
layers and 1.08x with one (docs/benchmarks.md).

The update equals the whole-batch update to float rounding: each row's arithmetic is the
same, the loss and gradients are sums in another order, and the dropout masks are the
whole batch's (`zoo.layers.row_window`). So it is taken only where every random draw of
the model is windowed: every recurrent layer a zoo `RecurrentLayer` with a fused pass,
every other layer that draws random numbers a `WindowedDropout`.
"""

import keras
import tensorflow as tf

from zoo.fused.schedule import fused_schedule, group_sizes, row_groups
from zoo.layers.recurrent import RecurrentLayer
from zoo.layers.row_window import RowWindows, WindowedDropout, row_window


def update_row_groups(model, batch):
    """How many row groups an update of `model` over `batch` rows (None: unknown) takes
    on the current schedule; 1 is the whole batch at once."""
    layers = model.layers
    recurrent = [layer for layer in layers if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))]
    if not recurrent or not all(isinstance(layer, RecurrentLayer) and layer.has_fused_pass() for layer in recurrent):
        return 1
    if any(hasattr(layer, "seed_generator") and not isinstance(layer, WindowedDropout)
           for layer in layers if not isinstance(layer, RecurrentLayer)):
        return 1  # a draw that would differ by group
    return min(row_groups(batch, layer.cell.units) for layer in recurrent)


def loss_in_row_groups(loss, groups, inputs, targets, state):
    """`loss(inputs, targets, state)` -> (mean loss, carried state list), computed as
    `groups` calls over row groups (module docstring)."""
    batch = inputs.shape[0]
    windows = RowWindows(batch, group_sizes(batch, groups))
    losses, carried = [], []
    with fused_schedule("single"):
        for window, (first, rows) in enumerate(zip(windows.firsts, windows.sizes)):
            with row_window(windows, window):
                group_loss, group_carried = loss(inputs[first:first + rows], targets[first:first + rows],
                                                 [s[first:first + rows] for s in state])
            losses.append(group_loss * (rows / batch))
            carried.append(group_carried)
    return tf.add_n(losses), [tf.concat(parts, axis=0) for parts in zip(*carried)]
