"""Text from a state-in/state-out language model (`zoo.models.language_model`), through `zoo.decoding`.

`language_model_step(model)` is the model as `zoo.decoding` sees it; the served
`generate` signature (`export.language_model`) decodes with the same step and the same
`sample_sequence`, so a request (prompt, length, temperature, top-k, top-p, seed) gives
the same text from the command line, from Python and from the server.
"""

import tensorflow as tf

from zoo.decoding.sampling import check_sampling, sample_sequence
from zoo.layers.stack import zero_state_in_graph
from zoo.run.errors import InputError


def language_model_step(model):
    """`step_fn(ids [n, 1], state) -> (logits [n, vocab], state)` of the model."""

    def step(ids, state):
        # Keras refuses a mix of NumPy and tensors, and `zero_state` gives NumPy.
        logits, *state = model([ids, *map(tf.convert_to_tensor, state)], training=False)
        return logits[:, -1], state

    return step


class TextSampler:
    """Samples continuations of prompts; one traced graph serves every call.

    Args:
        model: The inference model (dropout 0), `logits, *state = model([ids, *state])`.
        vocabulary: A `zoo.data.CharacterVocabulary`.
    """

    def __init__(self, model, vocabulary):
        self.model, self.vocabulary = model, vocabulary
        self._continue = tf.function(self._continuations, input_signature=[
            tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.int64)])

    def _continuations(self, prompt_ids, lengths, length, temperature, top_k, top_p, seed):
        state = zero_state_in_graph(self.model, tf.shape(prompt_ids)[0])
        return sample_sequence(language_model_step(self.model), prompt_ids, lengths, state,
                               length, temperature, top_k, top_p, seed)

    def __call__(self, prompt, length, temperature=1.0, top_k=0, top_p=1.0, seed=0):
        """`prompt` followed by `length` sampled characters (unknown characters of the
        prompt read as the unknown id)."""
        if not prompt:
            raise InputError("--prompt must hold at least one character")
        if length < 0:
            raise InputError(f"--length must be >= 0, received {length}")
        check_sampling(temperature, top_k, top_p)
        if length == 0:
            return prompt
        ids = self.vocabulary.encode(prompt)[None, :]
        drawn = self._continue(ids, [ids.shape[1]], length, temperature, top_k, top_p, seed)
        return prompt + self.vocabulary.decode(drawn.numpy()[0])
