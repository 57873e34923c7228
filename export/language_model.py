"""The served graph of a state-in/state-out token language model (`zoo.models.language_model`): three pure
signatures.

    serving_default  token_ids int32 [batch, time]            -> logits float32 [batch, time, vocab]
    step             token_ids int32 [batch, 1], state_L_P     -> logits [batch, 1, vocab], state_L_P
                     (one float32 [batch, units] per layer L and part P: h, and c for an LSTM)
    generate         prompt string [batch], max_length int32 [], temperature float32 [],
                     top_k int32 [], top_p float32 [], seed int64 []
                                                               -> text string [batch]

Every signature starts from what it is given (zero state for serving_default and
generate), so two identical requests always get identical answers and the server holds
no client's state. `generate` runs `zoo.decoding.sample_sequence` in the graph, the
sampler the command line and Python use, with the same step: temperature 0 is greedy,
top_k 0 and top_p 1 keep every id, and the draws come from the stateless stream of
`seed`; `text` is the continuation, `max_length` characters, without the prompt.
Characters map to ids through the vocabulary asset (one Unicode code point per line,
line n is id n + 1; id 0 is the unknown character, shown as U+FFFD).

Requests are checked in the graph (an InvalidArgumentError naming the input): every
prompt non-empty, 1 <= max_length <= MAX_GENERATE_LENGTH, temperature >= 0, top_k >= 0,
0 < top_p <= 1, token ids within the vocabulary, batch at most MAX_BATCH, time at most
MAX_TIME.
"""

import numpy as np
import tensorflow as tf

from export.serving import MAX_BATCH, ServingModule, require
from zoo.decoding import sample_sequence
from zoo.decoding.language_model import language_model_step
from zoo.layers.stack import zero_state, zero_state_in_graph

MAX_GENERATE_LENGTH = 2000
MAX_TIME = 20000
REPLACEMENT_CHARACTER = 0xFFFD
VOCABULARY_ASSET = "vocabulary.txt"
WARMUP_PROMPT = "The "


def state_names(model):
    """Names of the model's state inputs, e.g. ["state_0_h", "state_0_c", ...]."""
    return [spec.name for spec in model.inputs[1:]]


def write_codepoints(vocabulary, folder):
    """The vocabulary asset in `folder` (see the module docstring); returns its path."""
    path = folder / VOCABULARY_ASSET
    path.write_text("".join(f"{ord(ch)}\n" for ch in vocabulary.characters))
    return path


class LanguageModelServer(ServingModule):
    """The variables, the vocabulary asset and the signatures of a language model.

    Args:
        model: `logits, *state = model([token_ids, *state])` (see `zoo.models.language_model`).
        vocabulary: Its `zoo.data.CharacterVocabulary`.
        folder: Where to write the vocabulary asset before it is copied into the export.
    """

    def __init__(self, model, vocabulary, folder):
        super().__init__(model, name="language_model_server")
        self.vocab_size = vocabulary.size
        self.warmup_ids = vocabulary.encode(WARMUP_PROMPT)[None, :]
        self.vocabulary = tf.saved_model.Asset(str(write_codepoints(vocabulary, folder)))
        line = tf.lookup.TextFileIndex
        self.id_of_codepoint = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            self.vocabulary, tf.int64, line.WHOLE_LINE, tf.int64, line.LINE_NUMBER), -1)
        self.codepoint_of_line = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            self.vocabulary, tf.int64, line.LINE_NUMBER, tf.int64, line.WHOLE_LINE),
            REPLACEMENT_CHARACTER)
        self.state_names = state_names(model)
        state_specs = [tf.TensorSpec([None, spec.shape[-1]], tf.float32, name=name)
                       for name, spec in zip(self.state_names, model.inputs[1:])]
        self.serving_default = tf.function(self._logits, input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="token_ids")])
        self.step = tf.function(self._step, input_signature=[
            tf.TensorSpec([None, 1], tf.int32, name="token_ids"), *state_specs])
        self.generate = tf.function(self._generate, input_signature=[
            tf.TensorSpec([None], tf.string, name="prompt"),
            tf.TensorSpec([], tf.int32, name="max_length"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int32, name="top_k"),
            tf.TensorSpec([], tf.float32, name="top_p"),
            tf.TensorSpec([], tf.int64, name="seed")])
        self.track_variables()

    def signatures(self):
        return {"serving_default": self.serving_default, "step": self.step,
                "generate": self.generate}

    def warmup_requests(self):
        ids = self.warmup_ids
        state = dict(zip(self.state_names, zero_state(self.model, 1)))
        return [
            ("serving_default", {"token_ids": ids}),
            ("step", {"token_ids": ids[:, -1:], **state}),
            ("generate", {"prompt": np.array([WARMUP_PROMPT.encode()]), "max_length": np.int32(8),
                          "temperature": np.float32(1.0), "top_k": np.int32(0),
                          "top_p": np.float32(1.0), "seed": np.int64(0)}),
        ]

    def _check_token_ids(self, token_ids):
        shape = tf.shape(token_ids)
        # Scalar conditions, one reduction each: `step` runs once per character, and
        # tf.debugging.assert_* would add a rank, a range and a reduction per check.
        return [
            require(shape[0] <= MAX_BATCH, f"token_ids: batch larger than {MAX_BATCH}"),
            require(shape[1] <= MAX_TIME, f"token_ids: longer than {MAX_TIME} steps"),
            require(tf.reduce_min(token_ids) >= 0, "token_ids: negative id"),
            require(tf.reduce_max(token_ids) < self.vocab_size,
                    f"token_ids: id outside the vocabulary (expected < {self.vocab_size})"),
        ]

    def _logits(self, token_ids):
        with tf.control_dependencies(self._check_token_ids(token_ids)):
            token_ids = tf.identity(token_ids)
        logits, *_ = self.model([token_ids, *zero_state_in_graph(self.model, tf.shape(token_ids)[0])],
                                training=False)
        return {"logits": logits}

    def _step(self, token_ids, *state):
        batch = tf.shape(token_ids)[0]
        checks = self._check_token_ids(token_ids) + [
            require(tf.shape(s)[0] == batch, f"{name}: batch differs from token_ids'")
            for name, s in zip(self.state_names, state)]
        with tf.control_dependencies(checks):
            token_ids = tf.identity(token_ids)
        logits, *new_state = self.model([token_ids, *state], training=False)
        return {"logits": logits, **dict(zip(self.state_names, new_state))}

    def _ids_of(self, prompt):
        codepoints = tf.strings.unicode_decode(prompt, "UTF-8", errors="replace")
        ids = self.id_of_codepoint.lookup(tf.cast(codepoints, tf.int64)) + 1  # unknown: -1 -> 0
        return tf.cast(ids, tf.int32)

    def _text_of(self, ids):
        codepoints = self.codepoint_of_line.lookup(tf.cast(ids, tf.int64) - 1)
        return tf.strings.unicode_encode(tf.cast(codepoints, tf.int32), "UTF-8")

    def _generate(self, prompt, max_length, temperature, top_k, top_p, seed):
        ids = self._ids_of(prompt)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        checks = [
            tf.debugging.assert_positive(tf.size(prompt), message="prompt: the batch is empty"),
            tf.debugging.assert_less_equal(tf.size(prompt), MAX_BATCH, message=(
                f"prompt: batch larger than {MAX_BATCH}")),
            tf.debugging.assert_positive(lengths, message=(
                "prompt: every prompt must hold at least one character")),
            tf.debugging.assert_positive(max_length, message="max_length: must be >= 1"),
            tf.debugging.assert_less_equal(max_length, MAX_GENERATE_LENGTH, message=(
                f"max_length: must be <= {MAX_GENERATE_LENGTH}")),
            tf.debugging.assert_non_negative(temperature, message="temperature: must be >= 0 (0: greedy)"),
            tf.debugging.assert_non_negative(top_k, message="top_k: must be >= 0 (0: all)"),
            require((top_p > 0.0) & (top_p <= 1.0), "top_p: must be in (0, 1] (1: all)"),
        ]
        with tf.control_dependencies(checks):
            padded = ids.to_tensor(0)
        state = zero_state_in_graph(self.model, tf.shape(padded)[0])
        generated = sample_sequence(language_model_step(self.model), padded, lengths, state,
                                    max_length, temperature, top_k, top_p, seed)
        return {"text": self._text_of(generated)}
