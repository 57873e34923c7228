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
Requests are checked before any work (`export.requests`): 1 to MAX_BATCH sources of 1
to the run's maximum source length in tokens (and at most MAX_TOKEN_BYTES bytes a token
before they are split), beam width 1 to MAX_BEAM, max_length 1 to MAX_DECODE, and for
`decode_step` shapes that agree, ids inside the vocabulary and finite memory and states.
A request's work, in cell steps, is at most the export's budget:

    translate    batch x beam_width x max_length  (decoder steps, each attending over
                                                  at most the run's longest source)
    encode       batch x longest source
    decode_step  rows x memory steps              (memory at most the longest source)
"""

import json

import numpy as np
import tensorflow as tf

from export.portable import BATCH, Portable, PortableForms
from export.requests import all_finite, any_shape, checked, dims, int64, within_budget
from export.serving import MAX_BATCH, ServingModule
from zoo.data.tokens import END, PAD, SPECIAL_TOKENS, START, UNKNOWN, id_tokens, join_tokens, make_lookup, split_tokens

MAX_BEAM, MAX_DECODE = 64, 512
# Bytes a source may hold per token allowed, checked before it is split: a character is
# at most 4 bytes in UTF-8; a word is allowed 64.
MAX_TOKEN_BYTES = {"char": 4, "word": 64}
SOURCES_SHAPE = ([None], "string [batch]")
VOCABULARY_ASSET = "vocabularies.json"


class TranslatorServer(ServingModule):
    """The signatures of the module docstring over a `zoo.models.encoder_decoder.EncoderDecoder`."""

    # The default model (GRU 128, bidirectional encoder, additive attention) at this
    # budget: docs/serving.md.
    DEFAULT_BUDGET = 32768

    def __init__(self, model, assets, folder, budget=0):
        super().__init__(model, name="translator_server", budget=budget)
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
        self.memory_width = model.units * (2 if model.bidirectional else 1)
        states = [any_shape(tf.float32, f"state_{k}") for k in range(self.parts)]
        sources = any_shape(tf.string, "sources")
        self.translate = tf.function(self._translate, input_signature=[
            sources, any_shape(tf.int32, "beam_width"), any_shape(tf.int32, "max_length")])
        self.encode = tf.function(self._encode, input_signature=[sources])
        self.decode_step = tf.function(self._decode_step, input_signature=[
            any_shape(tf.int32, "previous_ids"), any_shape(tf.float32, "memory"), any_shape(tf.bool, "mask"), *states])
        self.track_variables()
        self.record_budget(folder, {"translate": "batch x beam_width x max_length",
                                    "encode": "batch x longest source", "decode_step": "rows x memory steps"},
                           {"batch": MAX_BATCH, "source_tokens": self.max_source, "beam_width": MAX_BEAM,
                            "max_length": MAX_DECODE, "decode_step_rows": MAX_BATCH * MAX_BEAM})

    def _source_rules(self):
        most_bytes = self.max_source * MAX_TOKEN_BYTES[self.tokens]
        return [
            (lambda inputs: (tf.size(inputs["sources"]) >= 1) & (tf.size(inputs["sources"]) <= MAX_BATCH),
             f"sources: 1 to {MAX_BATCH} per request"),
            (lambda inputs: tf.reduce_max(tf.strings.length(inputs["sources"])) <= most_bytes,
             f"sources: at most {self.max_source} {self.tokens} tokens each, as in training"),
        ]

    def _source_ids(self, sources, budgeted):
        """(ids [batch, S], lengths [batch]) of checked sources; `budgeted`: batch x S is
        at most the budget."""
        ragged = self.source_lookup(split_tokens(sources, self.tokens))
        work = lambda inputs: int64(tf.size(inputs["lengths"])) * int64(tf.reduce_max(inputs["lengths"]))
        budget = [within_budget(work, self.budget, "sources: batch x longest source")] if budgeted else []
        lengths = checked({"lengths": tf.cast(ragged.row_lengths(), tf.int32)}, [
            (lambda inputs: tf.reduce_all(inputs["lengths"] >= 1), f"sources: every source needs at least one "
             f"{self.tokens} token"),
            (lambda inputs: tf.reduce_all(inputs["lengths"] <= self.max_source),
             f"sources: at most {self.max_source} {self.tokens} tokens each, as in training"),
            *budget,
        ])["lengths"]
        ids = tf.RaggedTensor.from_row_lengths(ragged.flat_values, lengths).to_tensor(PAD)
        return tf.cast(ids, tf.int32), lengths

    def _translate(self, sources, beam_width, max_length):
        inputs = self.checked("translate", {"sources": sources, "beam_width": beam_width, "max_length": max_length}, [
            (lambda inputs: (inputs["beam_width"] >= 1) & (inputs["beam_width"] <= MAX_BEAM),
             f"beam_width: 1 to {MAX_BEAM}"),
            (lambda inputs: (inputs["max_length"] >= 1) & (inputs["max_length"] <= MAX_DECODE),
             f"max_length: 1 to {MAX_DECODE}"),
            *self._source_rules(),
            within_budget(lambda inputs: int64(tf.size(inputs["sources"])) * int64(inputs["beam_width"]) * int64(
                inputs["max_length"]), self.budget, "sources, beam_width, max_length: batch x beam_width x max_length"),
        ], {"sources": SOURCES_SHAPE, "beam_width": ([], "an int32 scalar"),
                                     "max_length": ([], "an int32 scalar")})
        beam_width, max_length = inputs["beam_width"], inputs["max_length"]
        ids, lengths = self._source_ids(inputs["sources"], budgeted=False)
        tokens, scores, counts = self.model.translate(ids, lengths, START, END, max_length, beam_width, self.alpha)
        kept = tf.sequence_mask(counts, tf.shape(tokens)[1])  # special ids read as ""
        pieces = tf.where(kept, tf.gather(self.target_tokens, tokens), "")
        return {"translations": join_tokens(pieces, self.tokens, axis=1), "scores": scores}

    def _encode(self, sources):
        ids, lengths = self._source_ids(self.checked("encode", {"sources": sources}, self._source_rules(),
                                                     {"sources": SOURCES_SHAPE})["sources"], budgeted=True)
        memory, mask, state = self.model.encode(ids, lengths)
        flat = self.model.flat_state(state)
        return {"memory": memory, "mask": mask, "start_ids": tf.fill(tf.shape(lengths), START),
                **{f"state_{k}": part for k, part in enumerate(flat)}}

    def _decode_step(self, previous_ids, memory, mask, *states):
        vocab, rows = self.model.output_layer.units, MAX_BATCH * MAX_BEAM
        width, units = self.memory_width, self.model.units
        batch = lambda inputs: dims(inputs["previous_ids"], 1)[0]
        names = [f"state_{k}" for k in range(self.parts)]
        state_rules = []
        for name in names:
            state_rules += [
                (lambda inputs, name=name: tf.reduce_all(dims(inputs[name], 2) == tf.stack([batch(inputs), units])),
                 f"{name}: expected [rows, {units}], one row per previous id"),
                (lambda inputs, name=name: tf.reduce_all(tf.math.is_finite(inputs[name])),
                 f"{name}: values must be finite")]
        inputs = self.checked("decode_step", {"previous_ids": previous_ids, "memory": memory, "mask": mask,
                                              **dict(zip(names, states))}, [
            (lambda inputs: (batch(inputs) >= 1) & (batch(inputs) <= rows), f"previous_ids: 1 to {rows} rows"),
            (lambda inputs: tf.reduce_all(dims(inputs["memory"], 3)[::2] == tf.stack([batch(inputs), width])),
             f"memory: expected [rows, steps, {width}] as encode returns it, one row per previous id"),
            (lambda inputs: (dims(inputs["memory"], 3)[1] >= 1) & (dims(inputs["memory"], 3)[1] <= self.max_source),
             f"memory: 1 to {self.max_source} steps, as encode returns it"),
            within_budget(lambda inputs: int64(batch(inputs)) * int64(dims(inputs["memory"], 3)[1]), self.budget,
                          "memory: rows x memory steps"),
            (lambda inputs: tf.reduce_all(dims(inputs["mask"], 2) == dims(inputs["memory"], 3)[:2]),
             "mask: one value per memory step, as encode returns it"),
            *state_rules,
            (lambda inputs: tf.reduce_all((inputs["previous_ids"] >= 0) & (inputs["previous_ids"] < vocab)),
             "previous_ids: ids of the target vocabulary"),
            (lambda inputs: tf.reduce_all(tf.math.is_finite(inputs["memory"])), "memory: values must be finite"),
        ], {"previous_ids": ([None], "int32 [rows]"),
            "memory": ([None, None, width], f"float32 [rows, steps, {width}]"),
            "mask": ([None, None], "bool [rows, steps]"),
            **{name: ([None, units], f"float32 [rows, {units}]") for name in names}})
        logits, state, weights = self.model.decode_step(
            inputs["previous_ids"], self.model.layered_state([inputs[name] for name in names]),
            inputs["memory"], inputs["mask"])
        if weights is None:  # attention "none": nothing is looked at
            weights = tf.zeros(tf.shape(inputs["mask"]), tf.float32)
        flat = self.model.flat_state(state)
        outputs = {"log_probs": tf.nn.log_softmax(logits), "attention": weights,
                   **{f"state_{k}": part for k, part in enumerate(flat)}}
        overflow = ("memory, state_k: values so large that the step overflows; expected them as encode and "
                    "decode_step return them")
        return checked(outputs, [all_finite(["log_probs", *names], overflow)])

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


def portable_forms(model, assets):
    """The id-input signatures of an encoder-decoder for LiteRT and ONNX
    (`export.portable`): `encode` from source ids, `decode_step` as served (the app
    carries memory, mask and state), and `greedy_decode`, the whole argmax decode in one
    loop (`zoo.decoding.greedy_search`, as `translate` with beam width 1)."""
    parts = model.layer_count * model.state_parts
    names = [f"state_{k}" for k in range(parts)]
    width, units, longest = model.units * (2 if model.bidirectional else 1), model.units, assets["max_source_length"]
    source_size, target_size = len(SPECIAL_TOKENS) + len(assets["source"]), len(SPECIAL_TOKENS) + len(assets["target"])
    source_check = (f"source_ids: ids in 0..{source_size - 1} of the manifest's source vocabulary, padded with "
                    f"{PAD}; lengths: 1..{longest}, at most the time axis")

    def sources(batch, rng):
        lengths = rng.integers(1, min(longest, 6) + 1, batch).astype(np.int32)
        ids = rng.integers(len(SPECIAL_TOKENS), source_size, (batch, int(lengths.max()))).astype(np.int32)
        ids[np.arange(ids.shape[1])[None, :] >= lengths[:, None]] = PAD
        return {"source_ids": ids, "lengths": lengths}

    def encode(inputs):
        memory, mask, state = model.encode(inputs["source_ids"], inputs["lengths"])
        return {"memory": memory, "mask": mask, **dict(zip(names, model.flat_state(state)))}

    def decode_step(inputs):
        logits, state, weights = model.decode_step(inputs["previous_ids"], model.layered_state(
            [inputs[name] for name in names]), inputs["memory"], inputs["mask"])
        if weights is None:  # attention "none"
            weights = tf.zeros(tf.shape(inputs["mask"]), tf.float32)
        return {"log_probs": tf.nn.log_softmax(logits), "attention": weights,
                **dict(zip(names, model.flat_state(state)))}

    def decode_example(batch, rng):
        steps = 5
        mask = np.arange(steps)[None, :] < rng.integers(1, steps + 1, batch)[:, None]
        return {"previous_ids": rng.integers(0, target_size, batch).astype(np.int32),
                "memory": (0.5 * rng.standard_normal((batch, steps, width))).astype(np.float32), "mask": mask,
                **{name: (0.5 * rng.standard_normal((batch, units))).astype(np.float32) for name in names}}

    def greedy_decode(inputs):
        ids, _, lengths = model.translate(inputs["source_ids"], inputs["lengths"], START, END,
                                          inputs["max_length"], 0)
        return {"target_ids": ids, "target_lengths": lengths}

    def greedy_example(batch, rng):
        return {**sources(batch, rng), "max_length": np.int32(12)}

    source_inputs = {"source_ids": (tf.int32, (BATCH, None)), "lengths": (tf.int32, (BATCH,))}
    states = {name: (tf.float32, (BATCH, units)) for name in names}
    return PortableForms(
        signatures=[
            Portable("encode", source_inputs, encode, sources, source_check),
            Portable("decode_step", {"previous_ids": (tf.int32, (BATCH,)), "memory": (tf.float32, (BATCH, None, width)),
                                     "mask": (tf.bool, (BATCH, None)), **states}, decode_step, decode_example,
                     f"previous_ids: ids in 0..{target_size - 1} ({START} first); memory, mask and "
                     f"{', '.join(names)}: as encode and decode_step returned them, finite"),
            Portable("greedy_decode", {**source_inputs, "max_length": (tf.int32, ())}, greedy_decode,
                     greedy_example, f"{source_check}; max_length: 1..{MAX_DECODE} (the loop runs up to it)"),
        ],
        refused={"translate": "sources are strings (StringSplit and the vocabulary's hash table do not convert); "
                              "greedy_decode is its beam-width-1 form from ids"},
        metadata={"vocabularies": {"tokens": assets["tokens"], "pad_id": PAD, "unknown_id": UNKNOWN,
                                   "start_id": START, "end_id": END,
                                   "source": list(SPECIAL_TOKENS) + assets["source"],
                                   "target": list(SPECIAL_TOKENS) + assets["target"]}})
