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

Requests are checked before any work (`export.requests`; an InvalidArgumentError
naming the input): shapes as above, 1 to MAX_BATCH rows, token ids within the
vocabulary, at most MAX_TIME steps, states of the model's widths and finite, every
prompt of 1 to MAX_PROMPT_LENGTH characters, 1 <= max_length <= MAX_GENERATE_LENGTH,
a finite temperature >= 0, top_k >= 0, 0 < top_p <= 1. A request's work, in cell steps,
is at most the export's budget:

    serving_default  batch x time
    step             batch
    generate         batch x (longest prompt + max_length)

and a `step` whose output overflows (states far outside what the model produces) is
refused rather than answered with inf or NaN.
"""

import numpy as np
import tensorflow as tf

from export.portable import BATCH, Portable, PortableForms
from export.requests import all_finite, any_shape, checked, dims, int64, state_rules, within_budget
from export.serving import MAX_BATCH, ServingModule
from zoo.decoding import sample_sequence
from zoo.decoding.language_model import language_model_step
from zoo.layers.stack import zero_state, zero_state_in_graph

MAX_GENERATE_LENGTH = 2000
MAX_PROMPT_LENGTH = 4000
MAX_TIME = 20000
# A UTF-8 character is at most 4 bytes: prompts longer in bytes are refused before decoding.
MAX_PROMPT_BYTES = 4 * MAX_PROMPT_LENGTH
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
        folder: Where to write the assets before they are copied into the export.
        budget: The most cell steps a request may cost (0: DEFAULT_BUDGET).
    """

    # The default model (2 x 256 LSTM) runs about 50k cell steps a second at batch 256 on
    # 2 cores; docs/serving.md has the worst admitted requests' seconds and memory.
    DEFAULT_BUDGET = 65536

    def __init__(self, model, vocabulary, folder, budget=0):
        super().__init__(model, name="language_model_server", budget=budget)
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
        self.state_widths = [int(spec.shape[-1]) for spec in model.inputs[1:]]
        state_specs = [any_shape(tf.float32, name) for name in self.state_names]
        self.serving_default = tf.function(self._logits, input_signature=[any_shape(tf.int32, "token_ids")])
        self.step = tf.function(self._step, input_signature=[any_shape(tf.int32, "token_ids"), *state_specs])
        self.generate = tf.function(self._generate, input_signature=[
            any_shape(tf.string, "prompt"), any_shape(tf.int32, "max_length"), any_shape(tf.float32, "temperature"),
            any_shape(tf.int32, "top_k"), any_shape(tf.float32, "top_p"), any_shape(tf.int64, "seed")])
        self.track_variables()
        self.record_budget(folder, {"serving_default": "batch x time", "step": "batch",
                                    "generate": "batch x (longest prompt + max_length)"},
                           {"batch": MAX_BATCH, "time": MAX_TIME, "prompt_characters": MAX_PROMPT_LENGTH,
                            "max_length": MAX_GENERATE_LENGTH})

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

    def _token_rules(self, longest):
        """Rules for `token_ids` [batch, time] with time 1..`longest`, within the budget."""
        shape = lambda inputs: dims(inputs["token_ids"], 2)
        return [
            (lambda inputs: (shape(inputs)[0] >= 1) & (shape(inputs)[0] <= MAX_BATCH),
             f"token_ids: 1 to {MAX_BATCH} rows"),
            (lambda inputs: (shape(inputs)[1] >= 1) & (shape(inputs)[1] <= longest),
             "token_ids: one id per row ([batch, 1])" if longest == 1 else f"token_ids: 1 to {longest} steps"),
            within_budget(lambda inputs: int64(shape(inputs)[0]) * int64(shape(inputs)[1]), self.budget,
                          "token_ids: batch x time"),
            (lambda inputs: tf.reduce_min(inputs["token_ids"]) >= 0, "token_ids: negative id"),
            (lambda inputs: tf.reduce_max(inputs["token_ids"]) < self.vocab_size,
             f"token_ids: id outside the vocabulary (expected < {self.vocab_size})"),
        ]

    def _state_rules(self):
        return state_rules(zip(self.state_names, self.state_widths),
                           lambda inputs: dims(inputs["token_ids"], 1)[0], "token_ids")

    def _logits(self, token_ids):
        token_ids = self.checked("serving_default", {"token_ids": token_ids}, self._token_rules(MAX_TIME),
                            {"token_ids": ([None, None], "int32 [batch, time]")})["token_ids"]
        logits, *_ = self.model([token_ids, *zero_state_in_graph(self.model, tf.shape(token_ids)[0])],
                                training=False)
        return {"logits": logits}

    def _step(self, token_ids, *state):
        inputs = self.checked("step", {"token_ids": token_ids, **dict(zip(self.state_names, state))},
                         self._token_rules(1) + self._state_rules(),
                         {"token_ids": ([None, 1], "int32 [batch, 1]"), **{
                             name: ([None, width], f"float32 [batch, {width}]")
                             for name, width in zip(self.state_names, self.state_widths)}})
        logits, *new_state = self.model([inputs["token_ids"], *(inputs[name] for name in self.state_names)],
                                        training=False)
        outputs = {"logits": logits, **dict(zip(self.state_names, new_state))}
        return checked(outputs, [all_finite(
            list(outputs), f"{', '.join(self.state_names)}: values so large that the step overflows; expected states "
            "as step returns them")])

    def _ids_of(self, prompt):
        codepoints = tf.strings.unicode_decode(prompt, "UTF-8", errors="replace")
        ids = self.id_of_codepoint.lookup(tf.cast(codepoints, tf.int64)) + 1  # unknown: -1 -> 0
        return tf.cast(ids, tf.int32)

    def _text_of(self, ids):
        codepoints = self.codepoint_of_line.lookup(tf.cast(ids, tf.int64) - 1)
        return tf.strings.unicode_encode(tf.cast(codepoints, tf.int32), "UTF-8")

    def _generate(self, prompt, max_length, temperature, top_k, top_p, seed):
        scalars = {"prompt": prompt, "max_length": max_length, "temperature": temperature, "top_k": top_k,
                   "top_p": top_p, "seed": seed}
        bytes_of = lambda inputs: tf.strings.length(inputs["prompt"])  # no decoding yet
        scalars = self.checked("generate", scalars, [
            (lambda inputs: (tf.size(inputs["prompt"]) >= 1) & (tf.size(inputs["prompt"]) <= MAX_BATCH),
             f"prompt: 1 to {MAX_BATCH} prompts"),
            (lambda inputs: (inputs["max_length"] >= 1) & (inputs["max_length"] <= MAX_GENERATE_LENGTH),
             f"max_length: 1 to {MAX_GENERATE_LENGTH}"),
            (lambda inputs: tf.math.is_finite(inputs["temperature"]) & (inputs["temperature"] >= 0),
             "temperature: finite and >= 0 (0: greedy)"),
            (lambda inputs: inputs["top_k"] >= 0, "top_k: must be >= 0 (0: all)"),
            (lambda inputs: (inputs["top_p"] > 0.0) & (inputs["top_p"] <= 1.0), "top_p: must be in (0, 1] (1: all)"),
            (lambda inputs: tf.reduce_max(bytes_of(inputs)) <= MAX_PROMPT_BYTES,
             f"prompt: at most {MAX_PROMPT_LENGTH} characters each"),
        ], {"prompt": ([None], "string [batch]"), **{name: ([], f"{kind} scalar") for name, kind in (
            ("max_length", "an int32"), ("temperature", "a float32"), ("top_k", "an int32"), ("top_p", "a float32"),
            ("seed", "an int64"))}})
        ids = self._ids_of(scalars["prompt"])
        lengths = checked({"lengths": tf.cast(ids.row_lengths(), tf.int32), "max_length": scalars["max_length"]}, [
            (lambda inputs: tf.reduce_min(inputs["lengths"]) >= 1,
             "prompt: every prompt must hold at least one character"),
            (lambda inputs: tf.reduce_max(inputs["lengths"]) <= MAX_PROMPT_LENGTH,
             f"prompt: at most {MAX_PROMPT_LENGTH} characters each"),
            within_budget(lambda inputs: int64(tf.size(inputs["lengths"])) * int64(
                tf.reduce_max(inputs["lengths"]) + inputs["max_length"]), self.budget,
                "prompt, max_length: batch x (longest prompt + max_length)"),
        ])["lengths"]
        padded = tf.RaggedTensor.from_row_lengths(ids.flat_values, lengths).to_tensor(0)
        state = zero_state_in_graph(self.model, tf.shape(padded)[0])
        generated = sample_sequence(language_model_step(self.model), padded, lengths, state,
                                    scalars["max_length"], scalars["temperature"], scalars["top_k"],
                                    scalars["top_p"], scalars["seed"])
        return {"text": self._text_of(generated)}


def portable_forms(model, vocabulary):
    """The id-input signatures of a language model for LiteRT and ONNX (`export.portable`):
    `step` as served (ids and state in, logits and state out, the state carried by the
    app) and `serving_default` (a whole sequence from zero state)."""
    names, widths = state_names(model), [int(spec.shape[-1]) for spec in model.inputs[1:]]
    size = vocabulary.size
    ids_check = f"token_ids: ids in 0..{size - 1} (0: unknown character)"

    def step(inputs):
        logits, *state = model([inputs["token_ids"], *(inputs[name] for name in names)], training=False)
        return {"logits": logits, **dict(zip(names, state))}

    def step_example(batch, rng):
        return {"token_ids": rng.integers(0, size, (batch, 1)).astype(np.int32),
                **{name: (0.5 * rng.standard_normal((batch, width))).astype(np.float32)
                   for name, width in zip(names, widths)}}

    def logits(inputs):
        ids = inputs["token_ids"]
        return {"logits": model([ids, *zero_state_in_graph(model, tf.shape(ids)[0])], training=False)[0]}

    def logits_example(batch, rng):
        return {"token_ids": rng.integers(0, size, (batch, 11)).astype(np.int32)}

    states = {name: (tf.float32, (BATCH, width)) for name, width in zip(names, widths)}
    return PortableForms(
        signatures=[
            Portable("step", {"token_ids": (tf.int32, (BATCH, 1)), **states}, step, step_example,
                     f"{ids_check}; {', '.join(names)}: finite, as step returned them (zeros to start)"),
            Portable("serving_default", {"token_ids": (tf.int32, (BATCH, None))}, logits, logits_example,
                     f"{ids_check}; at least one step"),
        ],
        refused={"generate": "string prompts (UnicodeDecode) and sampling (StatelessMultinomial) do not "
                             "convert; the app samples from step's logits"},
        metadata={"vocabulary": {"unknown_id": 0, "characters": list(vocabulary.characters),
                                 "ids": "character k of the list has id k + 1"}})
