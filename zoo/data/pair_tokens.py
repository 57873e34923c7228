"""Tokens and vocabularies of the two sides of a sequence-to-sequence pair, the same in
training and in the served graph.

    split:   "char": Unicode code points (`tf.strings.unicode_split`)
             "word": runs of ASCII whitespace separate words (`tf.strings.split`)
    join:    "char": concatenated, "word": joined with one space
    ids:     0 padding, 1 unknown, 2 start, 3 end, then the side's tokens

Each side has its own vocabulary, learned from the training pairs by
`keras.layers.StringLookup.adapt` (most frequent first, at most `max_tokens` ids with
the four special ones counted) and saved with the run; `make_lookup` rebuilds the layer
from it, in the recipe and inside the exported module alike.
"""

import keras
import numpy as np
import tensorflow as tf

TOKENS = ("char", "word")
PAD, UNKNOWN, START, END = 0, 1, 2, 3
SPECIAL_TOKENS = ("", "<unknown>", "<start>", "<end>")


def split_tokens(texts, tokens):
    """Ragged string tokens [n, (tokens)] of the strings `texts` [n]."""
    texts = tf.convert_to_tensor(texts, tf.string)
    if tokens == "char":
        return tf.strings.unicode_split(texts, "UTF-8")
    return tf.strings.split(texts)


def join_tokens(pieces, tokens, axis=-1):
    """Strings of the string tokens `pieces`, joined along `axis` (empty pieces are dropped)."""
    if tokens == "char":
        return tf.strings.reduce_join(pieces, axis=axis)
    return tf.strings.strip(tf.strings.regex_replace(tf.strings.reduce_join(pieces, axis=axis, separator=" "),
                                                     " +", " "))


def token_counts(texts, tokens):
    """int array [n]: the tokens of each of `texts`."""
    return split_tokens(np.asarray(texts, dtype=object), tokens).row_lengths().numpy()


def learn_vocabulary(texts, tokens, max_tokens):
    """The tokens of `texts`, most frequent first, at most `max_tokens` - 4 of them."""
    lookup = keras.layers.StringLookup(max_tokens=max_tokens - 2, mask_token=SPECIAL_TOKENS[0],
                                       oov_token=SPECIAL_TOKENS[1])
    lookup.adapt(split_tokens(np.asarray(texts, dtype=object), tokens).flat_values)
    return [str(token) for token in lookup.get_vocabulary()[2:]]


def make_lookup(vocabulary, name="lookup"):
    """StringLookup of one side: tokens -> ids (module docstring), unknown ones -> UNKNOWN."""
    return keras.layers.StringLookup(vocabulary=list(SPECIAL_TOKENS[2:]) + list(vocabulary),
                                     mask_token=SPECIAL_TOKENS[0], oov_token=SPECIAL_TOKENS[1], name=name)


def id_tokens(vocabulary):
    """The token of every id, the special ones as empty strings (they are not text)."""
    return [""] * len(SPECIAL_TOKENS) + list(vocabulary)


def encode(texts, vocabulary, tokens, end=False):
    """(ids [n, longest (+1)] int32 zero-padded, lengths [n] int32) of `texts`, with an END
    id after each where `end`."""
    ids = make_lookup(vocabulary)(split_tokens(np.asarray(texts, dtype=object), tokens))
    if end:
        ids = tf.concat([ids, tf.fill([ids.nrows(), 1], tf.constant(END, ids.dtype))], axis=1)
    return ids.to_tensor().numpy().astype(np.int32), ids.row_lengths().numpy().astype(np.int32)


def decode(ids, lengths, vocabulary, tokens):
    """Strings of decoded target ids [n, T], `lengths` [n] of them taken (an end id among
    them reads as nothing, as every special id does)."""
    ids = np.asarray(ids)
    kept = np.arange(ids.shape[1])[None, :] < np.asarray(lengths)[:, None]
    pieces = np.where(kept, np.asarray(id_tokens(vocabulary), dtype=object)[ids], "")
    return [text.decode() for text in join_tokens(pieces.astype(object), tokens).numpy()]
