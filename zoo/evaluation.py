"""Validation loss over stateful windows, and the inference twin of a training model.

`keras.layers.RNN` draws a cell's dropout masks on every call, `training=False` included,
which advances the dropout seed state. Validation, sampling and export therefore run on
an inference twin: the same architecture with dropout 0 and the training model's
weights, so they neither change the training run's random stream nor put a mutable seed
variable into a served graph.
"""

import math

import keras
import tensorflow as tf

from zoo.model import full_precision, zero_state


def copy_weights(source, target):
    """Assign `source`'s trainable weights to `target` (same architecture, any dropout)."""
    for into, value in zip(target.trainable_variables, source.trainable_variables, strict=True):
        into.assign(value)


def mean_loss(model, windows, rows):
    """Mean cross-entropy in nats per character over tiling windows, from zero state.

    Args:
        model: State-in/state-out model (see `zoo.model`).
        windows: (inputs, targets) pairs of one stream batch, in order (k1 == k2).
        rows: Number of streams.
    """

    @tf.function
    def window_loss(inputs, targets, state):
        logits, *state = model([inputs, *state], training=False)
        losses = keras.losses.sparse_categorical_crossentropy(targets, full_precision(logits),
                                                              from_logits=True)
        return tf.reduce_sum(losses), state

    state = zero_state(model, rows)
    total, count = 0.0, 0
    for inputs, targets in windows:
        loss, state = window_loss(inputs, targets, state)
        total += float(loss)
        count += int(tf.size(targets))
    return total / count if count else math.nan
