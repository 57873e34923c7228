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
steps of the benchmarks' language model ran 1.04x-1.06x faster with two 256-unit LSTM
layers and 1.03x with one; at 1024 units they ran slower, so wider layers split in every
pass (`MAX_UNITS`; docs/benchmarks.md).

The update equals the whole-batch update to float rounding: each row's arithmetic is the
same, the loss and gradients are sums in another order, and the dropout masks are the
whole batch's (`zoo.layers.row_window`). So it is taken only where every layer computes
each row from that row alone and draws its random numbers windowed (`update_row_groups`).
"""

import keras
import tensorflow as tf

from zoo.fused.schedule import fused_schedule, group_sizes, row_groups
from zoo.layers.recurrent import RecurrentLayer
from zoo.layers.row_window import RowWindows, WindowedDropout, row_window

# The most units of a recurrent layer with which an update splits: against a split in
# every pass, an LSTM's training steps ran 1.03x-1.06x at 256 units, 1.01x at 512 and
# 0.94x-0.98x at 1024 (docs/benchmarks.md), where the passes split instead.
MAX_UNITS = 512
# Layers whose output rows each depend on their input row alone, with no random draw.
ROW_BY_ROW = (keras.layers.InputLayer, keras.layers.Embedding, keras.layers.Dense, keras.layers.Activation,
              keras.layers.LayerNormalization, keras.layers.Add, keras.layers.Concatenate)


def update_row_groups(model, batch):
    """How many row groups an update of `model` over `batch` rows (None: unknown) takes
    on the current schedule; 1 is the whole batch at once.

    Every layer of the model must compute each row from that row alone and draw its
    random numbers windowed: `ROW_BY_ROW` layers, `WindowedDropout`, and zoo
    `RecurrentLayer`s with a fused pass of at most `MAX_UNITS` units, of which there must
    be one (a batch normalisation, say, or a Keras `Dropout`, keeps the whole batch
    together).
    """
    recurrent = [layer for layer in model.layers if isinstance(layer, RecurrentLayer)]
    if not recurrent or not all(layer.has_fused_pass() and layer.cell.units <= MAX_UNITS for layer in recurrent):
        return 1
    if not all(isinstance(layer, (*ROW_BY_ROW, WindowedDropout, RecurrentLayer)) for layer in model.layers):
        return 1
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
