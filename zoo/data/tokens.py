"""Tokens and vocabularies of every recipe, the same in training and in the served graph.

Tokens (`TOKENS`, the recipes' `--tokens`):
    "char"   Unicode code points
    "word"   words, in one of two named meanings:
             PLAIN_WORDS   runs of ASCII whitespace separate words; case and punctuation
                           stay (`tf.strings.split`; seq2seq, whose targets keep them)
             FOLDED_WORDS  lower-cased, punctuation stripped, then split at whitespace
                           (`keras.layers.TextVectorization`'s "lower_and_strip_punctuation";
                           the text classifier, whose classes rarely hang on either);
                           its characters are lower-cased too

Id layouts (each recipe keeps its own, since the runs it wrote and its bit-identical
losses depend on it):
    UNKNOWN_FIRST           0 unknown, then the training split's characters in
                            code-point order (`CharacterVocabulary`; char_lm)
    PAD_UNKNOWN             0 padding, 1 unknown, then tokens most frequent first
                            (`make_vectorizer`; classify, with FOLDED_WORDS; and
                            recipes.tag, whose words are its own)
    PAD_UNKNOWN_START_END   0 padding, 1 unknown, 2 start, 3 end, then tokens most
                            frequent first (`make_lookup`; seq2seq, with PLAIN_WORDS)

A learned vocabulary is saved with the run without its special tokens; the lookup layer
rebuilt from it (`make_vectorizer`, `make_lookup`) maps tokens to ids in the recipe and
inside the exported module alike.
"""

import json

import keras
import numpy as np
import tensorflow as tf

from zoo.run.errors import InputError

TOKENS = ("char", "word")
# The layouts a function takes (`layout=`); UNKNOWN_FIRST is `CharacterVocabulary` itself,
# and each layout reads its own meaning of "word" (the module docstring).
PAD_UNKNOWN, PAD_UNKNOWN_START_END = "pad_unknown", "pad_unknown_start_end"

# PAD_UNKNOWN_START_END's special ids (PAD and UNKNOWN are PAD_UNKNOWN's too), and how
# its lookup spells them.
PAD, UNKNOWN, START, END = 0, 1, 2, 3
SPECIAL_TOKENS = ("", "<unknown>", "<start>", "<end>")

# A character vocabulary larger than this is almost surely not a text corpus (or is a
# corpus of a script the language model is not sized for); the output layer grows with it.
MAX_CHARACTERS = 4096


class CharacterVocabulary:
    """UNKNOWN_FIRST: the training split's characters in code-point order after id 0, the
    unknown character.

    Args:
        characters: The known characters, each once, in id order (id = index + 1).
    """

    UNKNOWN_ID = 0
    UNKNOWN_CHARACTER = "\ufffd"  # how the unknown id is shown when decoded

    def __init__(self, characters):
        self.characters = "".join(characters)
        self._ids = {ch: i + 1 for i, ch in enumerate(self.characters)}
        if len(self._ids) != len(self.characters):
            raise InputError("vocabulary: characters must be distinct")
        self._table = np.array([self.UNKNOWN_CHARACTER, *self.characters])

    @classmethod
    def from_text(cls, text, source="the corpus"):
        characters = sorted(set(text))
        if len(characters) > MAX_CHARACTERS:
            raise InputError(f"{source}: {len(characters)} distinct characters, more than the "
                             f"vocabulary limit of {MAX_CHARACTERS}; expected a text corpus")
        return cls(characters)

    @property
    def size(self):
        """Number of ids, the unknown id included."""
        return len(self.characters) + 1

    def encode(self, text):
        """int32 ids of `text`; characters outside the vocabulary become UNKNOWN_ID."""
        return np.array([self._ids.get(ch, self.UNKNOWN_ID) for ch in text], dtype=np.int32)

    def decode(self, ids):
        return "".join(self._table[np.asarray(ids, dtype=np.int64)])

    def save(self, path):
        path.write_text(json.dumps({"unknown_id": self.UNKNOWN_ID,
                                    "characters": self.characters}, ensure_ascii=True))

    @classmethod
    def load(cls, path):
        return cls(json.loads(path.read_text())["characters"])

    def __eq__(self, other):
        return isinstance(other, CharacterVocabulary) and self.characters == other.characters


def split_tokens(texts, tokens):
    """Ragged string tokens [n, (tokens)] of the strings `texts` [n]: code points, or
    PLAIN_WORDS."""
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
    """int array [n]: the tokens (code points or PLAIN_WORDS) of each of `texts`."""
    return split_tokens(np.asarray(texts, dtype=object), tokens).row_lengths().numpy()


def make_vectorizer(tokens, vocabulary=None, max_tokens=None):
    """PAD_UNKNOWN with FOLDED_WORDS: a ragged-output TextVectorization for `tokens`;
    `vocabulary` without the padding and unknown tokens, or None to `adapt` it later."""
    return keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize="lower" if tokens == "char" else "lower_and_strip_punctuation",
        split="character" if tokens == "char" else "whitespace", output_mode="int", ragged=True,
        vocabulary=vocabulary, name="vectorizer")


def make_lookup(vocabulary, name="lookup"):
    """PAD_UNKNOWN_START_END: StringLookup of one side, tokens -> ids (unknown ones -> UNKNOWN)."""
    return keras.layers.StringLookup(vocabulary=list(SPECIAL_TOKENS[2:]) + list(vocabulary),
                                     mask_token=SPECIAL_TOKENS[0], oov_token=SPECIAL_TOKENS[1], name=name)


def learn_vocabulary(texts, tokens, max_tokens, layout):
    """The tokens of `texts`, most frequent first, at most `max_tokens` ids with the
    layout's special ones counted: PAD_UNKNOWN (FOLDED_WORDS) or PAD_UNKNOWN_START_END
    (PLAIN_WORDS)."""
    texts = np.asarray(texts, dtype=object)
    if layout == PAD_UNKNOWN:
        vectorizer = make_vectorizer(tokens, max_tokens=max_tokens)
        vectorizer.adapt(texts)
        return vectorizer.get_vocabulary(include_special_tokens=False)
    if layout != PAD_UNKNOWN_START_END:
        raise ValueError(f"learn_vocabulary: layout must be {PAD_UNKNOWN!r} or {PAD_UNKNOWN_START_END!r}, "
                         f"received {layout!r}")
    lookup = keras.layers.StringLookup(max_tokens=max_tokens - 2, mask_token=SPECIAL_TOKENS[0],
                                       oov_token=SPECIAL_TOKENS[1])
    lookup.adapt(split_tokens(texts, tokens).flat_values)
    return [str(token) for token in lookup.get_vocabulary()[2:]]


def encode(texts, vocabulary, tokens, layout, end=False, max_steps=None):
    """(ids [n, longest] int32 zero-padded, lengths [n] int32) of `texts` in `layout`:
    PAD_UNKNOWN (FOLDED_WORDS), or PAD_UNKNOWN_START_END (PLAIN_WORDS) with an END id
    after each text where `end`; at most `max_steps` tokens each (the first ones)."""
    texts = np.asarray(texts, dtype=object)
    if layout == PAD_UNKNOWN:
        ids = make_vectorizer(tokens, vocabulary)(texts)
    else:
        ids = make_lookup(vocabulary)(split_tokens(texts, tokens))
        if end:
            ids = tf.concat([ids, tf.fill([ids.nrows(), 1], tf.constant(END, ids.dtype))], axis=1)
    if max_steps is not None:
        ids = ids[:, :max_steps]
    return ids.to_tensor().numpy().astype(np.int32), ids.row_lengths().numpy().astype(np.int32)


def id_tokens(vocabulary):
    """PAD_UNKNOWN_START_END: the token of every id, the special ones as empty strings
    (they are not text)."""
    return [""] * len(SPECIAL_TOKENS) + list(vocabulary)


def decode(ids, lengths, vocabulary, tokens):
    """PAD_UNKNOWN_START_END: strings of decoded target ids [n, T], `lengths` [n] of them
    taken (an end id among them reads as nothing, as every special id does)."""
    ids = np.asarray(ids)
    kept = np.arange(ids.shape[1])[None, :] < np.asarray(lengths)[:, None]
    pieces = np.where(kept, np.asarray(id_tokens(vocabulary), dtype=object)[ids], "")
    return [text.decode() for text in join_tokens(pieces.astype(object), tokens).numpy()]
