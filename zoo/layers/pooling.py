"""Pooling of a padded sequence over its valid steps into one vector (many-to-one).

    mean       sum_t m_t y_t / sum_t m_t
    max        max over valid t of y_t, per feature
    attention  sum_t a_t y_t,  a = masked softmax_t(v . tanh(W y_t + c))
"""

import keras
from keras import ops

from zoo.layers.masks import masked_softmax


@keras.saving.register_keras_serializable(package="zoo")
class MaskedPooling(keras.layers.Layer):
    """Pools a sequence [batch, time, width] over its valid steps (mask [batch, time]).

    Args:
        mode: "mean", "max" or "attention" (see the module docstring); "last" is
            `last_valid_step`, as a bidirectional layer's directions end at different steps.
        attention_units: Width of the attention scorer's hidden layer.
    """

    def __init__(self, mode, attention_units=64, **kwargs):
        super().__init__(**kwargs)
        # The step mask comes in as an argument; Keras' implicit one is taken and dropped.
        self.supports_masking = True
        if mode not in ("mean", "max", "attention"):
            raise ValueError(f"MaskedPooling: mode must be mean, max or attention, received {mode!r}")
        self.mode, self.attention_units = mode, attention_units
        if mode == "attention":
            self.hidden = keras.layers.Dense(attention_units, activation="tanh", name="attention_hidden")
            self.score = keras.layers.Dense(1, use_bias=False, name="attention_score")

    def compute_mask(self, inputs, mask=None):
        return None

    def build(self, sequence_shape, step_mask_shape=None):
        if self.mode == "attention":
            self.hidden.build(sequence_shape)
            self.score.build((*sequence_shape[:-1], self.attention_units))

    def call(self, sequence, step_mask):
        valid = ops.cast(step_mask, sequence.dtype)[:, :, None]
        if self.mode == "mean":
            return ops.sum(sequence * valid, axis=1) / ops.maximum(ops.sum(valid, axis=1), 1.0)
        if self.mode == "max":
            return ops.max(ops.where(step_mask[:, :, None], sequence, ops.full_like(sequence, -1e9)), axis=1)
        return ops.sum(self.attention_weights(sequence, step_mask)[:, :, None] * sequence, axis=1)

    def attention_weights(self, sequence, mask):
        """a [batch, time]: softmax of the scores over valid steps, exactly 0 on padding."""
        return masked_softmax(self.score(self.hidden(sequence))[:, :, 0], mask, axis=1)

    def compute_output_shape(self, sequence_shape, step_mask_shape=None):
        return (sequence_shape[0], sequence_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "attention_units": self.attention_units}
