"""The serving graph: three pure signatures over a state-in/state-out language model.

    serving_default  token_ids int32 [batch, time]            -> logits float32 [batch, time, vocab]
    step             token_ids int32 [batch, 1], state_L_P     -> logits [batch, 1, vocab], state_L_P
                     (one float32 [batch, units] per layer L and part P: h, and c for an LSTM)
    generate         prompt string [batch], max_length int32 [], temperature float32 [],
                     top_k int32 [], seed int64 []             -> text string [batch]

Every signature starts from what it is given (zero state for serving_default and
generate), so two identical requests always get identical answers and the server holds
no client's state. `generate` runs the whole sampling loop in the graph: the prompt's
characters are read one per step, then each next character is drawn from
softmax(logits / temperature) restricted to the top_k likeliest (0: all), with the
stateless random stream (seed, step); `text` is the continuation, `max_length`
characters, without the prompt. Characters map to ids through the vocabulary asset
(one Unicode code point per line, line n is id n + 1; id 0 is the unknown character,
shown as U+FFFD).

Requests are checked in the graph (an InvalidArgumentError naming the input): every
prompt non-empty, 1 <= max_length <= MAX_GENERATE_LENGTH, temperature > 0, top_k >= 0,
token ids within the vocabulary, batch at most MAX_BATCH, time at most MAX_TIME.
"""

import tensorflow as tf

MAX_GENERATE_LENGTH = 2000
MAX_BATCH = 256
MAX_TIME = 20000
REPLACEMENT_CHARACTER = 0xFFFD


def _require(condition, message):
    """An op failing with InvalidArgumentError `message` where the scalar `condition` is False."""
    return tf.debugging.Assert(condition, [message])


class _Untracked:
    """Holds the Keras model out of the SavedModel's object graph (see the server)."""

    def __init__(self, model):
        self.model = model


def state_names(model):
    """Names of the model's state inputs, e.g. ["state_0_h", "state_0_c", ...]."""
    return [spec.name for spec in model.inputs[1:]]


class LanguageModelServer(tf.Module):
    """A tf.Module holding the model's variables, the vocabulary asset and the signatures.

    Args:
        model: `logits, *state = model([token_ids, *state])` (see `zoo.model`).
        codepoints_file: Path of the vocabulary asset (see the module docstring).
        vocab_size: Number of ids, the unknown id included.
    """

    def __init__(self, model, codepoints_file, vocab_size):
        super().__init__(name="char_lm_server")
        # Keras variables wrap tf.Variables; TF Serving's (TF1) loader only binds the
        # tf.Variables the traced signatures capture, so those are what is tracked (as
        # keras.export.ExportArchive does), and the Keras model itself is not.
        self._held = _Untracked(model)
        self.vocab_size = vocab_size
        self.vocabulary = tf.saved_model.Asset(str(codepoints_file))
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
            tf.TensorSpec([], tf.int64, name="seed")])
        captured = {}
        for function in self.signatures().values():
            for variable in function.get_concrete_function().variables:
                captured.setdefault(id(variable), variable)
        self.captured_variables = list(captured.values())

    @property
    def model(self):
        return self._held.model

    def signatures(self):
        return {"serving_default": self.serving_default, "step": self.step,
                "generate": self.generate}

    def _check_token_ids(self, token_ids):
        shape = tf.shape(token_ids)
        # Scalar conditions, one reduction each: `step` runs once per character, and
        # tf.debugging.assert_* would add a rank, a range and a reduction per check.
        return [
            _require(shape[0] <= MAX_BATCH, f"token_ids: batch larger than {MAX_BATCH}"),
            _require(shape[1] <= MAX_TIME, f"token_ids: longer than {MAX_TIME} steps"),
            _require(tf.reduce_min(token_ids) >= 0, "token_ids: negative id"),
            _require(tf.reduce_max(token_ids) < self.vocab_size,
                     f"token_ids: id outside the vocabulary (expected < {self.vocab_size})"),
        ]

    def _zero_state(self, batch):
        return [tf.zeros([batch, spec.shape[-1]]) for spec in self.model.inputs[1:]]

    def _logits(self, token_ids):
        with tf.control_dependencies(self._check_token_ids(token_ids)):
            token_ids = tf.identity(token_ids)
        logits, *_ = self.model([token_ids, *self._zero_state(tf.shape(token_ids)[0])],
                                training=False)
        return {"logits": logits}

    def _step(self, token_ids, *state):
        batch = tf.shape(token_ids)[0]
        checks = self._check_token_ids(token_ids) + [
            _require(tf.shape(s)[0] == batch, f"{name}: batch differs from token_ids'")
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

    def _generate(self, prompt, max_length, temperature, top_k, seed):
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
            tf.debugging.assert_positive(temperature, message="temperature: must be > 0"),
            tf.debugging.assert_non_negative(top_k, message="top_k: must be >= 0 (0: all)"),
        ]
        with tf.control_dependencies(checks):
            padded = ids.to_tensor(0)
        batch, prompt_length = tf.shape(padded)[0], tf.shape(padded)[1]
        k = tf.where(top_k > 0, tf.minimum(top_k, self.vocab_size), self.vocab_size)
        steps = prompt_length + max_length - 1

        def body(i, token, state, drawn):
            logits, *state = self.model([token[:, None], *state], training=False)
            scaled = logits[:, -1] / temperature
            kth_largest = tf.math.top_k(scaled, k).values[:, -1:]
            scaled = tf.where(scaled < kth_largest, tf.fill(tf.shape(scaled), -float("inf")), scaled)
            sample = tf.random.stateless_categorical(
                scaled, 1, seed=tf.stack([seed, tf.cast(i, tf.int64)]), dtype=tf.int32)[:, 0]
            # Rows still inside their prompt read the prompt's next character.
            in_prompt = i + 1 < lengths
            prompt_next = padded[:, tf.minimum(i + 1, prompt_length - 1)]
            return i + 1, tf.where(in_prompt, prompt_next, sample), state, drawn.write(i, sample)

        _, _, _, drawn = tf.while_loop(
            lambda i, *_: i < steps, body,
            (tf.constant(0), padded[:, 0], self._zero_state(batch),
             tf.TensorArray(tf.int32, size=steps)))
        drawn = tf.transpose(drawn.stack())  # [batch, steps]: draw after reading step i
        first = (lengths - 1)[:, None] + tf.range(max_length)[None, :]
        generated = tf.gather(drawn, first, batch_dims=1)
        return {"text": self._text_of(generated)}
