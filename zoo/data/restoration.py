"""Punctuation and case restoration, the tagger's default task, on the built-in corpus
(`zoo.data.corpus`, the Python documentation that ships inside CPython).

A transcript of speech has neither case nor punctuation; restoring both is tagging with
two label sets. Every word of the text is folded, and labelled from its written form:

    word         the token (a run between ASCII whitespace) without its ASCII
                 punctuation, lower-cased; a token left empty (">>>", "--") is no word
    case         of the word's written form without punctuation: "lower" (no upper-case
                 letter: "the", "3.7"), "capitalised" (one upper-case letter first:
                 "Python", "I"), "upper" (two or more letters, all upper-case: "PEP"),
                 "other" (mixed: "CPython", restored as lower-case)
    punctuation  the last of , . ? : ; in the run of punctuation that ends the token
                 ("do.)" -> period, "e.g.," -> comma), else "none"; other marks count as
                 none

The paragraphs (blocks between blank lines) that read as prose are the examples: at
least MIN_WORDS tokens, of which at least PROSE_SHARE are plain words (PLAIN_WORD: "the",
"Python", "value,"), which code samples and grammar rules are not. A paragraph whose
text repeats is kept once. Folding runs in TensorFlow (`fold_words`),
the one function the recipe and the served `tag` both call, so a word reads the same in
training and in a request; `restore_text` writes the labels back, in the graph too.
"""

import re
import string

import tensorflow as tf

from zoo.data.conll import Sentence, distinct
from zoo.data.corpus import load_corpus

CASE_LABELS = ("lower", "capitalised", "upper", "other")
PUNCTUATION_LABELS = ("none", "comma", "period", "question", "colon", "semicolon")
MARKS = {",": "comma", ".": "period", "?": "question", ":": "colon", ";": "semicolon"}
COLUMNS = ("case", "punctuation")
MIN_WORDS = 8
# A prose token: letters (only the first may be upper-case), then at most one mark.
PLAIN_WORD = re.compile(r"[A-Za-z][a-z]*[,.;:?]?")
PROSE_SHARE = 0.6
# ASCII whitespace: what tf.strings.split separates at, so Python and the graph agree.
WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")
PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")
TRAILING_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]+$")


def fold_words(tokens):
    """Words of string `tokens` (any shape): ASCII punctuation removed, lower-cased."""
    return tf.strings.lower(tf.strings.regex_replace(tokens, "[[:punct:]]", ""), encoding="utf-8")


def case_of(token):
    """The case label of `token` (see the module docstring)."""
    written = PUNCTUATION.sub("", token)
    if written == written.lower():
        return "lower"
    if written[0].isupper() and written[1:] == written[1:].lower():
        return "capitalised"
    if written == written.upper() and sum(ch.isalpha() for ch in written) >= 2:
        return "upper"
    return "other"


def punctuation_of(token):
    """The punctuation label of `token` (see the module docstring)."""
    trailing = TRAILING_PUNCTUATION.search(token)
    marks = [MARKS[ch] for ch in trailing.group() if ch in MARKS] if trailing else []
    return marks[-1] if marks else "none"


def prose_paragraphs(text):
    """The prose paragraphs of `text`, each once, whitespace runs read as one space."""
    paragraphs = [" ".join(WHITESPACE.split(p.strip())) for p in re.split(r"\n[ \t]*\n", text)]
    return list(dict.fromkeys(p for p in paragraphs if _is_prose(p.split(" "))))


def _is_prose(tokens):
    return len(tokens) >= MIN_WORDS and sum(bool(PLAIN_WORD.fullmatch(t)) for t in tokens) >= PROSE_SHARE * len(tokens)


def restoration_sentences(paragraphs):
    """A `Sentence` per paragraph: folded words, labelled (case, punctuation)."""
    tokens = [paragraph.split(" ") for paragraph in paragraphs]
    words = fold_words(tf.constant([t for row in tokens for t in row])).numpy()
    sentences, first = [], 0
    for number, row in enumerate(tokens):
        kept = [(word.decode("utf-8"), token) for word, token in zip(words[first:first + len(row)], row) if word]
        first += len(row)
        if kept:
            sentences.append(Sentence([word for word, _ in kept],
                                      [[case_of(token) for _, token in kept],
                                       [punctuation_of(token) for _, token in kept]],
                                      f"paragraph {number}"))
    return distinct(sentences)


def default_sentences():
    """The default task's sentences, from the built-in corpus."""
    return restoration_sentences(prose_paragraphs(load_corpus("default")))


def restore_text(words, case_ids, punctuation_ids, lengths):
    """Strings [batch] of words [batch, time] (folded), written in their predicted case and
    followed by their punctuation, the first `lengths` of each row joined by spaces."""
    upper = tf.strings.upper(words, encoding="utf-8")
    first = tf.strings.substr(words, 0, 1, unit="UTF8_CHAR")
    capitalised = tf.strings.join([tf.strings.upper(first, encoding="utf-8"),
                                   tf.strings.regex_replace(words, "^.", "")])
    cased = tf.where(tf.equal(case_ids, 1), capitalised, tf.where(tf.equal(case_ids, 2), upper, words))
    marks = tf.constant(["", ",", ".", "?", ":", ";"])  # PUNCTUATION_LABELS' order
    written = tf.strings.join([cased, tf.gather(marks, punctuation_ids)])
    valid = tf.sequence_mask(lengths, tf.shape(words)[1])
    return tf.strings.reduce_join(tf.ragged.boolean_mask(written, valid), axis=1, separator=" ")
