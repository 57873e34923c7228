"""Attention of decoder queries over an encoder's padded outputs (Bahdanau et al. 2015;
Luong et al. 2015), for query h_t and memory m_s:

    e_ts = score(h_t, m_s)        dot: h_t . m_s          general: h_t W m_s
                                  additive: v . tanh(W1 h_t + W2 m_s)
    a_t  = masked softmax over valid s of e_ts      (padded source steps get exactly 0)
    c_t  = sum_s a_ts m_s
"""

import keras
from keras import ops

from zoo.layers.masks import masked_softmax

ATTENTIONS = ("none", "additive", "dot", "general")


@keras.saving.register_keras_serializable(package="zoo")
class Attention(keras.layers.Layer):
    """Scores, weights and context of one of ATTENTIONS (see the module docstring) for
    queries [batch, T, units] over memory [batch, S, D] with mask [batch, S]."""

    def __init__(self, kind, units, **kwargs):
        super().__init__(**kwargs)
        self.kind, self.units = kind, units

    def build(self, queries_shape, memory_shape, mask_shape=None):
        width = memory_shape[-1]
        if self.kind == "general" or (self.kind == "dot" and width != self.units):
            self.memory_projection = self.add_weight((width, self.units), name="memory_projection")
        if self.kind == "additive":
            self.query_weight = self.add_weight((self.units, self.units), name="query_weight")
            self.memory_weight = self.add_weight((width, self.units), name="memory_weight")
            self.score_vector = self.add_weight((self.units,), name="score_vector")

    def keys(self, memory):
        """What the scores read of the memory, computed once per source: W2 m_s (additive),
        W m_s (general, or dot over a memory wider than the queries), else m_s."""
        if not self.built:  # a decoding loop may ask before any call
            self.build((None, None, self.units), memory.shape)
            self.built = True
        if self.kind == "additive":
            return ops.matmul(memory, self.memory_weight)
        return memory if not hasattr(self, "memory_projection") else ops.matmul(memory, self.memory_projection)

    def call(self, queries, memory, mask, keys=None):
        keys = self.keys(memory) if keys is None else keys
        if self.kind == "additive":
            hidden = ops.tanh(ops.matmul(queries, self.query_weight)[:, :, None, :] + keys[:, None, :, :])
            scores = ops.sum(hidden * self.score_vector, axis=-1)
        else:
            scores = ops.matmul(queries, ops.transpose(keys, (0, 2, 1)))
        weights = masked_softmax(scores, ops.cast(mask, "bool")[:, None, :])
        return ops.matmul(weights, memory), weights

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "units": self.units}
