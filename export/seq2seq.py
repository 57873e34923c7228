"""The served module of `recipes.seq2seq` runs: `translate`, `encode` and `decode_step`.

    translate(sources string [batch], beam_width int32, max_length int32)
        -> translations string [batch], scores float32 [batch]
    encode(sources string [batch])
        -> memory float32 [batch, S, D], mask bool [batch, S], start_ids int32 [batch],
           state_0 .. state_{n-1} float32 [batch, units]
    decode_step(previous_ids int32 [batch], memory, mask, state_0 .. state_{n-1})
        -> log_probs float32 [batch, vocab], attention float32 [batch, S],
           state_0 .. state_{n-1}

`translate` runs the whole beam search in the graph on core TensorFlow ops (`zoo.decoding`;
beam width 1 is greedy) and scores hypotheses by GNMT's length-normalised log-probability.
`encode` and `decode_step` are pure: a client that drives decoding itself carries the
memory, mask and decoder state between calls (n = layers, or 2 layers for an LSTM), feeds
`start_ids` first and stops at the end id. The asset `vocabularies.json` names every id of
both sides and the special ids.

Sources are split into tokens and looked up in the run's source vocabulary inside the
graph, as in training (`zoo.data.tokens`; unknown tokens read as the unknown id).
Requests are checked in the graph: 1 to MAX_BATCH sources of 1 to the run's maximum
source length in tokens, the beam width and length within their limits, and for
`decode_step` ids inside the vocabulary and shapes that agree.
"""

import json

import numpy as np
import tensorflow as tf

from export.serving import MAX_BATCH, ServingModule, require
from zoo.data.tokens import END, PAD, SPECIAL_TOKENS, START, UNKNOWN, id_tokens, join_tokens, make_lookup, split_tokens

MAX_BEAM, MAX_DECODE = 64, 512
VOCABULARY_ASSET = "vocabularies.json"


class TranslatorServer(ServingModule):
    """The signatures of the module docstring over a `zoo.models.encoder_decoder.EncoderDecoder`."""

    def __init__(self, model, assets, folder):
        super().__init__(model, name="translator_server")
        self.tokens, self.max_source = assets["tokens"], assets["max_source_length"]
        self.alpha = assets["alpha"]  # the run's length normalisation, as its beam decodes were scored
        shown = assets["source"][:min(8, self.max_source)] or ["?"]
        self.example_source = ("" if self.tokens == "char" else " ").join(shown)
        path = folder / VOCABULARY_ASSET
        path.write_text(json.dumps({
            "tokens": self.tokens, "pad_id": PAD, "unknown_id": UNKNOWN, "start_id": START, "end_id": END,
            "source": list(SPECIAL_TOKENS) + assets["source"], "target": list(SPECIAL_TOKENS) + assets["target"]},
            ensure_ascii=False) + "\n", encoding="utf-8")
        self.vocabularies = tf.saved_model.Asset(str(path))
        # A tracked attribute, so the SavedModel holds the lookup's table.
        self.source_lookup = make_lookup(assets["source"], name="source_lookup")
        self.target_tokens = tf.constant(id_tokens(assets["target"]))
        self.parts = model.layer_count * model.state_parts
        memory_width = model.units * (2 if model.bidirectional else 1)
        states = [tf.TensorSpec([None, model.units], tf.float32, name=f"state_{k}") for k in range(self.parts)]
        sources = tf.TensorSpec([None], tf.string, name="sources")
        self.translate = tf.function(self._translate, input_signature=[
            sources, tf.TensorSpec([], tf.int32, name="beam_width"), tf.TensorSpec([], tf.int32, name="max_length")])
        self.encode = tf.function(self._encode, input_signature=[sources])
        self.decode_step = tf.function(self._decode_step, input_signature=[
            tf.TensorSpec([None], tf.int32, name="previous_ids"),
            tf.TensorSpec([None, None, memory_width], tf.float32, name="memory"),
            tf.TensorSpec([None, None], tf.bool, name="mask"), *states])
        self.track_variables()

    def _source_ids(self, sources):
        """(ids [batch, S], lengths [batch]) of checked source strings."""
        ids = self.source_lookup(split_tokens(sources, self.tokens))
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        checks = [require((tf.size(sources) >= 1) & (tf.size(sources) <= MAX_BATCH),
                          f"sources: 1 to {MAX_BATCH} per request"),
                  require(tf.reduce_all(lengths >= 1), f"sources: every source needs at least one {self.tokens} token"),
                  require(tf.reduce_all(lengths <= self.max_source),
                          f"sources: at most {self.max_source} {self.tokens} tokens each, as in training")]
        with tf.control_dependencies(checks):
            return tf.identity(tf.cast(ids.to_tensor(PAD), tf.int32)), tf.identity(lengths)

    def _translate(self, sources, beam_width, max_length):
        checks = [require((beam_width >= 1) & (beam_width <= MAX_BEAM), f"beam_width: 1 to {MAX_BEAM}"),
                  require((max_length >= 1) & (max_length <= MAX_DECODE), f"max_length: 1 to {MAX_DECODE}")]
        with tf.control_dependencies(checks):
            ids, lengths = self._source_ids(sources)
        tokens, scores, counts = self.model.translate(ids, lengths, START, END, max_length, beam_width, self.alpha)
        kept = tf.sequence_mask(counts, tf.shape(tokens)[1])  # special ids read as ""
        pieces = tf.where(kept, tf.gather(self.target_tokens, tokens), "")
        return {"translations": join_tokens(pieces, self.tokens, axis=1), "scores": scores}

    def _encode(self, sources):
        ids, lengths = self._source_ids(sources)
        memory, mask, state = self.model.encode(ids, lengths)
        flat = self.model.flat_state(state)
        return {"memory": memory, "mask": mask, "start_ids": tf.fill(tf.shape(lengths), START),
                **{f"state_{k}": part for k, part in enumerate(flat)}}

    def _decode_step(self, previous_ids, memory, mask, *states):
        batch, vocab = tf.shape(previous_ids)[0], self.model.output_layer.units
        checks = [require((batch >= 1) & (batch <= MAX_BATCH * MAX_BEAM),
                          f"previous_ids: 1 to {MAX_BATCH * MAX_BEAM} rows"),
                  require(tf.reduce_all((previous_ids >= 0) & (previous_ids < vocab)),
                          "previous_ids: ids of the target vocabulary"),
                  require(tf.reduce_all(tf.equal(tf.shape(memory)[:2], tf.shape(mask))),
                          "mask: one value per memory step, as encode returns it"),
                  require(tf.reduce_all(tf.stack([tf.shape(memory)[0]] + [tf.shape(s)[0] for s in states]) == batch),
                          "memory, mask and state_k: one row per previous id")]
        with tf.control_dependencies(checks):
            previous_ids = tf.identity(previous_ids)
        logits, state, weights = self.model.decode_step(previous_ids, self.model.layered_state(states), memory, mask)
        if weights is None:  # attention "none": nothing is looked at
            weights = tf.zeros(tf.shape(mask), tf.float32)
        flat = self.model.flat_state(state)
        return {"log_probs": tf.nn.log_softmax(logits), "attention": weights,
                **{f"state_{k}": part for k, part in enumerate(flat)}}

    def signatures(self):
        return {"translate": self.translate, "encode": self.encode, "decode_step": self.decode_step}

    def warmup_requests(self):
        source = np.array([self.example_source.encode()])
        example = self.encode(tf.constant(source))
        states = {f"state_{k}": example[f"state_{k}"].numpy() for k in range(self.parts)}
        return [("translate", {"sources": source, "beam_width": np.int32(2), "max_length": np.int32(12)}),
                ("encode", {"sources": source}),
                ("decode_step", {"previous_ids": example["start_ids"].numpy(), "memory": example["memory"].numpy(),
                                 "mask": example["mask"].numpy(), **states})]
