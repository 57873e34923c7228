"""Punctuation and case restoration data (`zoo.data.restoration`): the labels of written
words by hand, folding (the one TensorFlow function of training and serving), restoring
labels back into text, and the default corpus' prose paragraphs, each once."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.data.restoration import (
    CASE_LABELS,
    PUNCTUATION_LABELS,
    case_of,
    default_sentences,
    fold_words,
    prose_paragraphs,
    punctuation_of,
    restoration_sentences,
    restore_text,
)


@pytest.mark.parametrize("token,case,punctuation", [
    ("the", "lower", "none"), ("Python", "capitalised", "none"), ("I", "capitalised", "none"),
    ("PEP", "upper", "none"), ("CPython,", "other", "comma"), ("do.)", "lower", "period"),
    ("e.g.,", "lower", "comma"), ("3.7:", "lower", "colon"), ('"__dir__"', "lower", "none"),
    ("Why?", "capitalised", "question"), ("it;", "lower", "semicolon"), ("A!", "capitalised", "none"),
    ("'Hello'.", "capitalised", "period"), ("X-Y", "upper", "none"),
])
def test_the_labels_of_written_words(token, case, punctuation):
    assert (case_of(token), punctuation_of(token)) == (case, punctuation)


def test_folding_drops_ascii_punctuation_and_case():
    folded = fold_words(tf.constant([["Don't", "e.g.,", ">>>"], ["ÉTÉ.", "os.path", "x"]])).numpy()
    assert folded.tolist() == [[b"dont", b"eg", b""], ["été".encode(), b"ospath", b"x"]]


def test_a_paragraph_becomes_words_and_two_label_columns():
    (sentence,) = restoration_sentences(["The value, as in PEP 8: see >>> CPython."])
    assert sentence.tokens == ["the", "value", "as", "in", "pep", "8", "see", "cpython"]
    assert sentence.labels == [["capitalised", "lower", "lower", "lower", "upper", "lower", "lower", "other"],
                               ["none", "comma", "none", "none", "none", "colon", "none", "period"]]


def test_restoring_writes_the_case_and_the_punctuation_back():
    words = tf.constant([["the", "value", "pep", "été", ""], ["x", "", "", "", ""]])
    case = tf.constant([[1, 0, 2, 1, 0], [3, 0, 0, 0, 0]])
    marks = tf.constant([[0, 1, 4, 2, 0], [3, 0, 0, 0, 0]])
    restored = restore_text(words, case, marks, tf.constant([4, 1])).numpy()
    assert [text.decode() for text in restored] == ["The value, PEP: Été.", "x?"]
    assert PUNCTUATION_LABELS[1] == "comma" and CASE_LABELS[1] == "capitalised"


def test_prose_paragraphs_skip_code_and_repeats():
    text = ("A first paragraph of prose that has\nenough words in it.\n\n    x = f(a, b)  # a call\n"
            "    y = [i for i in x]\n\nShort one.\n\n   A first paragraph of prose that has enough words in it.\n\n"
            "   An indented one, as a definition's text is, is prose too.")
    assert prose_paragraphs(text) == ["A first paragraph of prose that has enough words in it.",
                                      "An indented one, as a definition's text is, is prose too."]


def test_the_default_corpus_gives_distinct_labelled_paragraphs():
    sentences = default_sentences()
    texts = [" ".join(s.tokens) for s in sentences]
    assert len(texts) == len(set(texts)) > 500
    assert all(len(s.tokens) == len(s.labels[0]) == len(s.labels[1]) for s in sentences)
    counts = {label: sum(s.labels[1].count(label) for s in sentences) for label in PUNCTUATION_LABELS}
    assert counts["period"] > 1000 and counts["comma"] > 1000
    assert np.mean([label == "capitalised" for s in sentences for label in s.labels[0]]) > 0.03
