"""Validation helpers: the inference twin's weights, and the loss over stateful windows.

`keras.layers.RNN` draws a cell's dropout masks on every call, `training=False` included,
which advances the dropout seed state. Validation, sampling and export therefore run on
an inference twin: the same architecture with dropout 0 and the training model's
weights, so they neither change the training run's random stream nor put a mutable seed
variable into a served graph.
"""

import math

import keras
import tensorflow as tf

from zoo.layers.stack import zero_state
from zoo.training.precision import full_precision


def copy_weights(source, target):
    """Assign `source`'s trainable weights to `target` (same architecture, any dropout)."""
    for into, value in zip(target.trainable_variables, source.trainable_variables, strict=True):
        into.assign(value)


class StreamLoss:
    """Mean cross-entropy in nats per token over tiling windows of streams, from zero
    state, of a state-in/state-out model (see `zoo.models.language_model`). Its graph is traced once and
    reused by every validation.

    Args:
        model: The (inference) model.
    """

    def __init__(self, model):
        self.model = model
        self._window_loss = tf.function(self._sum_of_losses, reduce_retracing=True)

    def _sum_of_losses(self, inputs, targets, state):
        logits, *state = self.model([inputs, *state], training=False)
        losses = keras.losses.sparse_categorical_crossentropy(targets, full_precision(logits),
                                                              from_logits=True)
        return tf.reduce_sum(losses), state

    def __call__(self, windows, rows):
        """Args: windows: (inputs, targets) pairs of one stream batch in order (k1 == k2);
        rows: the number of streams."""
        state = zero_state(self.model, rows)
        total, count = 0.0, 0
        for inputs, targets in windows:
            loss, state = self._window_loss(inputs, targets, state)
            total += float(loss)
            count += int(tf.size(targets))
        return total / count if count else math.nan
