"""The served module of `recipes.tag` runs: `tag` (raw text) and `tag_tokens` (split
tokens, for CoNLL-style clients).

    tag          texts string [batch]; each is split at ASCII whitespace into tokens as
                 the training data was (`tf.strings.split`); a default (restoration) run
                 folds them into words (`zoo.data.restoration.fold_words`) and drops the
                 tokens that fold to nothing (">>>")
    tag_tokens   tokens string [batch, time] padded with anything, lengths int32 [batch];
                 a default run folds each token, and one that folds to nothing reads as
                 the unknown word

Both return `tokens` string [batch, time] (the words the model read, "" past each row's
length), `lengths` int32 [batch], and per label column (head) COLUMN:
`COLUMN_label` string [batch, time] ("" past the length) and `COLUMN_probabilities`
float32 [batch, time, labels]. A default run adds `restored` string [batch]: the words
written in their predicted case, each followed by its predicted punctuation.

Requests are checked before any work (`export.requests`): 1 to MAX_BATCH texts of at
most MAX_TEXT_BYTES bytes, BYTES_PER_WORD x the budget in all (checked before they are
split), each with 1 to MAX_TIME words; tokens of rank 2 with 1 to
MAX_TIME steps, at most MAX_TOKEN_BYTES bytes each, lengths of 1 to the time axis. A
request's work, in cell steps, is batch x the longest row's words, at most the export's
budget.
"""

import numpy as np
import tensorflow as tf

from export.requests import any_shape, checked, dims, int64, string_batch, within_budget
from export.serving import MAX_BATCH, ServingModule
from zoo.data.restoration import fold_words, restore_text
from zoo.data.tokens import UNKNOWN  # recipes.tag's layout: PAD_UNKNOWN, 0 padding, 1 unknown

# A text of this many words takes about 2.5 s through the default model on 2 cores
# (docs/serving.md); the tagger reads a whole text in both directions.
MAX_TIME = 4096
# Bytes are bounded before splitting, which allocates per token: a text at most 16 bytes
# a word of MAX_TIME, a request at most BYTES_PER_WORD x its budget in all.
BYTES_PER_WORD = 16
MAX_TEXT_BYTES = BYTES_PER_WORD * MAX_TIME
MAX_TOKEN_BYTES = 256


class TaggerServer(ServingModule):
    """`tag` and `tag_tokens` (see the module docstring); requests are checked in the graph."""

    # The default model (two bidirectional layers of 128) at this budget: docs/serving.md.
    DEFAULT_BUDGET = 65536

    def __init__(self, model, assets, folder, budget=0):
        super().__init__(model, name="tagger_server", budget=budget)
        self.assets = assets
        vocabulary = list(assets["vocabulary"])
        self.word_ids = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(vocabulary or [""], tf.string),
            tf.constant(np.arange(2, len(vocabulary) + 2) if vocabulary else [UNKNOWN], tf.int64)),
            UNKNOWN)
        self.tag = tf.function(self._tag, input_signature=[any_shape(tf.string, "texts")])
        self.tag_tokens = tf.function(self._tag_tokens, input_signature=[
            any_shape(tf.string, "tokens"), any_shape(tf.int32, "lengths")])
        self.track_variables()
        self.record_budget(folder, {"tag": "batch x the longest text's words", "tag_tokens": "batch x time"},
                           {"batch": MAX_BATCH, "time": MAX_TIME, "text_bytes": MAX_TEXT_BYTES,
                            "request_bytes": BYTES_PER_WORD * self.budget, "token_bytes": MAX_TOKEN_BYTES})

    def _tag(self, texts):
        texts = self.checked("tag", {"texts": texts}, [
            *string_batch("texts", MAX_BATCH, MAX_TEXT_BYTES),
            (lambda inputs: int64(tf.reduce_sum(tf.strings.length(inputs["texts"]))) <= BYTES_PER_WORD * self.budget,
             f"texts: at most {BYTES_PER_WORD * self.budget} bytes in all ({BYTES_PER_WORD} a word of the request "
             f"budget of {self.budget} cell steps)"),
        ], {"texts": ([None], "string [batch]")})["texts"]
        words = tf.strings.split(texts)
        if self.assets["restore"]:
            words = fold_words(words)
            words = tf.ragged.boolean_mask(words, tf.strings.length(words) > 0)
        lengths = checked({"lengths": tf.cast(words.row_lengths(), tf.int32)}, [
            (lambda inputs: tf.reduce_all(inputs["lengths"] >= 1), "texts: every text needs at least one word"),
            (lambda inputs: tf.reduce_all(inputs["lengths"] <= MAX_TIME), f"texts: at most {MAX_TIME} words each"),
            within_budget(lambda inputs: int64(tf.size(inputs["lengths"])) * int64(tf.reduce_max(inputs["lengths"])),
                          self.budget, "texts: batch x words"),
        ])["lengths"]
        words = tf.RaggedTensor.from_row_lengths(words.flat_values, tf.cast(lengths, tf.int64)).to_tensor("")
        return self._outputs(words, lengths)

    def _tag_tokens(self, tokens, lengths):
        shape = lambda inputs: dims(inputs["tokens"], 2)
        inputs = self.checked("tag_tokens", {"tokens": tokens, "lengths": lengths}, [
            (lambda inputs: (shape(inputs)[0] >= 1) & (shape(inputs)[0] <= MAX_BATCH),
             f"tokens: 1 to {MAX_BATCH} rows per request"),
            (lambda inputs: (shape(inputs)[1] >= 1) & (shape(inputs)[1] <= MAX_TIME), f"tokens: 1 to {MAX_TIME} steps"),
            within_budget(lambda inputs: int64(shape(inputs)[0]) * int64(shape(inputs)[1]), self.budget,
                          "tokens: batch x time"),
            (lambda inputs: tf.reduce_max(tf.strings.length(inputs["tokens"])) <= MAX_TOKEN_BYTES,
             f"tokens: at most {MAX_TOKEN_BYTES} bytes each"),
            (lambda inputs: tf.equal(tf.size(inputs["lengths"]), shape(inputs)[0]), "lengths: one per row of tokens"),
            (lambda inputs: tf.reduce_all(inputs["lengths"] >= 1), "lengths: every row needs at least one token"),
            (lambda inputs: tf.reduce_all(inputs["lengths"] <= shape(inputs)[1]),
             "lengths: at most the time axis of tokens"),
        ], {"tokens": ([None, None], "string [batch, time]"), "lengths": ([None], "int32 [batch]")})
        words = fold_words(inputs["tokens"]) if self.assets["restore"] else inputs["tokens"]
        valid = tf.sequence_mask(inputs["lengths"], tf.shape(words)[1])
        return self._outputs(tf.where(valid, words, ""), inputs["lengths"])

    def _outputs(self, words, lengths):
        valid = tf.sequence_mask(lengths, tf.shape(words)[1])
        ids = self.word_ids.lookup(words)
        ids = tf.cast(tf.where(valid, ids, 0), tf.int32)
        logits = tf.nest.flatten(self.model([ids, lengths], training=False))
        outputs = {"tokens": words, "lengths": lengths}
        predicted = []
        for column, names, head_logits in zip(self.assets["columns"], self.assets["labels"], logits):
            label_ids = tf.argmax(head_logits, -1, output_type=tf.int32)
            predicted.append(label_ids)
            outputs[f"{column}_label"] = tf.where(valid, tf.gather(tf.constant(names), label_ids), "")
            outputs[f"{column}_probabilities"] = tf.nn.softmax(head_logits)
        if self.assets["restore"]:
            outputs["restored"] = restore_text(words, predicted[0], predicted[1], lengths)
        return outputs

    def signatures(self):
        return {"tag": self.tag, "tag_tokens": self.tag_tokens}

    def warmup_requests(self):
        return [("tag", {"texts": np.array([b"a short example", b"another one, with more words"])}),
                ("tag_tokens", {"tokens": np.array([[b"a", b"short"], [b"one", b""]]),
                                "lengths": np.array([2, 1], np.int32)})]
