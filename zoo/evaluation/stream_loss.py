"""The loss of a state-in/state-out language model over stateful windows of streams, as
validation scores it (on the inference twin, `zoo.models.inference_twin`)."""

import math

import keras
import tensorflow as tf

from zoo.layers.stack import zero_state
from zoo.training.precision import full_precision


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
