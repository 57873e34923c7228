"""Text to token ids for the text classifier, the same inside training and the served graph.

`keras.layers.TextVectorization` does the work: lower-casing (and, for words, stripping
punctuation), splitting into characters or whitespace-separated words, and the
vocabulary lookup (id 0 padding, 1 unknown, then the training texts' tokens by
frequency). The vocabulary is saved with the run, and the served module rebuilds the
layer from it, so a request is tokenised exactly as the training texts were.
"""

import keras
import numpy as np

TOKENS = ("char", "word")


def make_vectorizer(tokens, vocabulary=None, max_tokens=None):
    """A ragged-output TextVectorization for `tokens` ("char" or "word"); `vocabulary`
    without the padding and unknown tokens, or None to `adapt` it later."""
    return keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize="lower" if tokens == "char" else "lower_and_strip_punctuation",
        split="character" if tokens == "char" else "whitespace", output_mode="int", ragged=True,
        vocabulary=vocabulary, name="vectorizer")


def learn_vocabulary(texts, tokens, max_tokens):
    """The vocabulary of `texts` (most frequent first), at most `max_tokens` with padding
    and unknown counted."""
    vectorizer = make_vectorizer(tokens, max_tokens=max_tokens)
    vectorizer.adapt(np.asarray(texts, dtype=object))
    return vectorizer.get_vocabulary(include_special_tokens=False)


def token_ids(vectorizer, texts, max_steps):
    """[texts] -> (ids [n, time] int32 zero-padded, lengths [n] int32), at most `max_steps`
    tokens each (the first ones)."""
    ragged = vectorizer(np.asarray(texts, dtype=object))[:, :max_steps]
    return ragged.to_tensor().numpy().astype(np.int32), ragged.row_lengths().numpy().astype(np.int32)
