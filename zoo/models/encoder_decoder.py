"""An encoder-decoder of zoo cells with attention over the encoder's outputs
(Goodfellow et al., Deep Learning, 10.4; Luong et al. 2015, the attention's placement).

    memory, mask, state = encode(source ids, source lengths)
        memory [batch, S, D] the top encoder layer's outputs (D = units, or 2 units
        bidirectional), mask [batch, S] the valid source steps, state the decoder's
        initial state: each layer's final encoder state, through a learned bridge
        (a dense tanh layer) where the sizes differ (a bidirectional encoder)
    logits, state, weights = decode_step(previous target ids [batch], state, memory, mask)

Per target step t, with h_t the top decoder layer's output:

    e_ts = score(h_t, m_s)        dot: h_t . m_s          general: h_t W m_s
                                  additive: v . tanh(W1 h_t + W2 m_s)  (Bahdanau et al. 2015)
    a_t  = softmax over valid s of e_ts      (padded source steps get exactly 0)
    c_t  = sum_s a_ts m_s
    o_t  = tanh(W_c [c_t; h_t])              (attention "none": o_t = h_t)
    logits_t = W_o o_t + b_o

Teacher forcing (`teacher_forced`) runs the decoder over the gold previous tokens with
the same layers, whole sequences at once (the recurrent layers take their fused pass),
so its logits equal step-by-step decoding with the gold tokens fed back.
"""

import keras
from keras import ops

from zoo.decoding import beam_search, greedy_search, tile_beams
from zoo.layers.attention import ATTENTIONS, Attention
from zoo.layers.masks import step_mask
from zoo.layers.stack import recurrent_layer


class EncoderDecoder(keras.Model):
    """The model of the module docstring.

    Args:
        source_vocab, target_vocab: Token ids of each side (0 padding).
        cell, units, layers: Zoo cell, hidden size and depth of encoder and decoder.
        bidirectional: The encoder reads both ways (its layers' outputs concatenated).
        attention: One of ATTENTIONS.
        embedding_dim: Size of both embeddings.
        dropout: Variational dropout on each recurrent layer's input, and before the output.
        seed: Seed of the dropout masks.
    """

    def __init__(self, source_vocab, target_vocab, cell="lstm", units=128, layers=1, bidirectional=False,
                 attention="additive", embedding_dim=64, dropout=0.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, received {attention!r}")
        self.settings = dict(source_vocab=source_vocab, target_vocab=target_vocab, cell=cell, units=units,
                             layers=layers, bidirectional=bidirectional, attention=attention,
                             embedding_dim=embedding_dim, dropout=dropout, seed=seed)
        self.units, self.layer_count, self.bidirectional = units, layers, bidirectional
        self.source_embedding = keras.layers.Embedding(source_vocab, embedding_dim, name="source_embedding")
        self.target_embedding = keras.layers.Embedding(target_vocab, embedding_dim, name="target_embedding")
        self.encoder, self.decoder = [], []
        for layer in range(layers):
            forward = recurrent_layer(cell, units, dropout, seed + 3 * layer, name=f"encoder_{layer}",
                                      return_sequences=True, return_state=True)
            if bidirectional:
                backward = recurrent_layer(cell, units, dropout, seed + 3 * layer + 1, name=f"encoder_{layer}_backward",
                                           return_sequences=True, return_state=True, go_backwards=True)
                forward = keras.layers.Bidirectional(forward, backward_layer=backward, merge_mode="concat",
                                                     name=f"bidirectional_encoder_{layer}")
            self.encoder.append(forward)
            self.decoder.append(recurrent_layer(cell, units, dropout, seed + 3 * layer + 2, name=f"decoder_{layer}",
                                                return_sequences=True, return_state=True))
        self.state_parts = len(self.decoder[0].cell.state_size)
        self.bridge = (keras.layers.Dense(layers * self.state_parts * units, activation="tanh", name="bridge")
                       if bidirectional else None)
        self.attention = None if attention == "none" else Attention(attention, units, name="attention")
        self.attentional = None if attention == "none" else keras.layers.Dense(units, activation="tanh",
                                                                                  use_bias=False, name="attentional")
        self.output_dropout = keras.layers.Dropout(dropout, seed=seed + 3 * layers) if dropout else None
        self.output_layer = keras.layers.Dense(target_vocab, name="logits")

    def encode(self, source_ids, source_lengths, training=False):
        """(memory, mask, initial decoder state: per layer a list of [batch, units])."""
        mask = step_mask(source_lengths, ops.shape(source_ids)[1])
        hidden = self.source_embedding(source_ids)
        finals = []
        for layer in self.encoder:
            hidden, *final = layer(hidden, mask=mask, training=training)
            finals.append(final)
        if self.bridge is None:
            state = [list(final) for final in finals]
        else:
            joined = self.bridge(ops.concatenate([part for final in finals for part in final], axis=-1))
            parts = ops.split(joined, self.layer_count * self.state_parts, axis=-1)
            state = self.layered_state(parts)
        return hidden, mask, state

    def decode(self, target_in, state, memory, mask, training=False, keys=None):
        """(logits [batch, T, vocab], new state, attention weights [batch, T, S] or None) for
        the previous tokens `target_in` [batch, T] (teacher forcing, or T = 1 per step);
        `keys`: the attention's keys of `memory`, where a decoding loop computed them once."""
        hidden = self.target_embedding(target_in)
        new_state = []
        for layer, layer_state in zip(self.decoder, state):
            hidden, *final = layer(hidden, initial_state=list(layer_state), training=training)
            new_state.append(final)
        logits, weights = self.readout(hidden, memory, mask, training, keys)
        return logits, new_state, weights

    def readout(self, hidden, memory, mask, training=False, keys=None):
        """(logits, attention weights or None) of the top decoder outputs `hidden` [batch, T, units]."""
        weights = None
        if self.attention is not None:
            context, weights = self.attention(hidden, memory, mask, keys)
            hidden = self.attentional(ops.concatenate([context, hidden], axis=-1))
        if self.output_dropout is not None:
            hidden = self.output_dropout(hidden, training=training)
        return self.output_layer(hidden), weights

    def teacher_forced(self, source_ids, source_lengths, target_in, training=False):
        """Logits [batch, T, vocab] and attention weights with the gold previous tokens."""
        memory, mask, state = self.encode(source_ids, source_lengths, training)
        logits, _, weights = self.decode(target_in, state, memory, mask, training)
        return logits, weights

    def decode_step(self, previous_ids, state, memory, mask, keys=None):
        """One step of inference: (logits [batch, vocab], new state, weights [batch, S]).

        The decoder layers' cells are called directly: for one step the layers' sequence
        machinery (masks, time-major transposes, the fused pass) only costs time."""
        hidden = self.target_embedding(previous_ids)
        new_state = []
        for layer, layer_state in zip(self.decoder, state):
            hidden, final = layer.cell(hidden, list(layer_state))
            new_state.append(list(final))
        logits, weights = self.readout(hidden[:, None], memory, mask, keys=keys)
        return logits[:, 0], new_state, None if weights is None else weights[:, 0]

    @staticmethod
    def flat_state(state):
        """The decoder state as one list: layer 0's parts, then layer 1's, ..."""
        return [part for layer_state in state for part in layer_state]

    def layered_state(self, flat):
        """`flat_state`'s inverse: a list of parts per layer."""
        return [list(flat[k * self.state_parts:(k + 1) * self.state_parts]) for k in range(self.layer_count)]

    def step_fn(self, memory, mask):
        """`zoo.decoding`'s step_fn over this model's flat decoder state, for `memory` and
        `mask` with one row per decoded row (tile them with `zoo.decoding.tile_beams`); the
        attention's keys are computed here, once, not at every step."""
        keys = None if self.attention is None else self.attention.keys(memory)

        def step(ids, flat_state):
            state = self.layered_state(flat_state)
            logits, state, _ = self.decode_step(ids[:, 0], state, memory, mask, keys)
            return logits, self.flat_state(state)

        return step

    def translate(self, source_ids, source_lengths, start_id, end_id, max_length, beam_width=1, alpha=0.0):
        """(ids [batch, max_length], scores [batch], lengths [batch]) of the best hypothesis:
        greedy for a Python beam_width of 0 (no scores), else beam search (`zoo.decoding`;
        beam_width may be a tensor, as a served request gives it); scores are GNMT's."""
        memory, mask, state = self.encode(source_ids, source_lengths)
        flat = self.flat_state(state)
        start = ops.full((ops.shape(source_ids)[0],), start_id, dtype="int32")
        if isinstance(beam_width, int) and beam_width == 0:
            ids, lengths = greedy_search(self.step_fn(memory, mask), flat, start, max_length, end_id)
            return ids, None, lengths
        step = self.step_fn(tile_beams(memory, beam_width), tile_beams(mask, beam_width))
        ids, scores, lengths = beam_search(step, flat, start, beam_width, max_length, end_id, alpha)
        return ids[:, 0], scores[:, 0], lengths[:, 0]

    def call(self, inputs, training=False):
        source_ids, source_lengths, target_in = inputs
        return self.teacher_forced(source_ids, source_lengths, target_in, training)[0]

    def get_config(self):
        return {**super().get_config(), **self.settings}
