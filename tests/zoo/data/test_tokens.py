"""Tokens and vocabularies in their id layouts (`zoo.data.tokens`) and the pair files
(`zoo.data.text_pairs`)."""

import numpy as np
import pytest

from zoo.data.text_pairs import read_pairs, split_pairs
from zoo.data.tokens import (
    END,
    PAD,
    PAD_UNKNOWN,
    PAD_UNKNOWN_START_END,
    START,
    UNKNOWN,
    decode,
    encode,
    learn_vocabulary,
    token_counts,
)
from zoo.run.errors import InputError


def test_vocabularies_put_frequent_tokens_first_and_count_the_special_ids():
    assert learn_vocabulary(["a b b", "c b a"], "word", 100, PAD_UNKNOWN_START_END) == ["b", "a", "c"]
    assert learn_vocabulary(["a b b", "c b a"], "word", 6, PAD_UNKNOWN_START_END) == ["b", "a"]
    assert learn_vocabulary(["héé"], "char", 100, PAD_UNKNOWN_START_END) == ["é", "h"]


@pytest.mark.parametrize("tokens,texts", [("char", ["le chat", "日本"]), ("word", ["le  chat noir", "un chat"])])
def test_encode_then_decode_gives_the_texts_back(tokens, texts):
    vocabulary = learn_vocabulary(texts, tokens, 100, PAD_UNKNOWN_START_END)
    ids, lengths = encode(texts, vocabulary, tokens, PAD_UNKNOWN_START_END, end=True)
    assert ids.dtype == np.int32 and (ids[np.arange(len(texts)), lengths - 1] == END).all()
    assert (ids >= START).sum() == lengths.sum() and (ids[ids < START] == PAD).all()
    assert decode(ids, lengths, vocabulary, tokens) == [" ".join(t.split()) for t in texts]


def test_unknown_tokens_read_as_the_unknown_id_and_as_nothing_when_decoded():
    ids, lengths = encode(["abz"], ["a", "b"], "char", PAD_UNKNOWN_START_END)
    assert ids.tolist() == [[4, 5, UNKNOWN]] and lengths.tolist() == [3]
    assert decode(ids, lengths, ["a", "b"], "char") == ["ab"]


def test_the_two_meanings_of_word_stay_apart_in_their_layouts():
    texts = ["The cat, the CAT.", "a cat"]
    # PAD_UNKNOWN reads folded words (lower-cased, punctuation stripped): ids 0 pad, 1 unknown.
    folded = learn_vocabulary(texts, "word", 100, PAD_UNKNOWN)
    assert folded == ["cat", "the", "a"]
    ids, lengths = encode(["the dog", "Cat!"], folded, "word", PAD_UNKNOWN, max_steps=1)
    assert ids.tolist() == [[3], [2]] and lengths.tolist() == [1, 1]
    assert encode(["dog"], folded, "word", PAD_UNKNOWN)[0].tolist() == [[1]]
    # PAD_UNKNOWN_START_END reads plain words: case and punctuation stay.
    plain = learn_vocabulary(texts, "word", 100, PAD_UNKNOWN_START_END)
    assert sorted(plain) == sorted(["The", "cat,", "the", "CAT.", "a", "cat"])


def test_token_counts_are_the_tokens_encode_makes():
    texts = ["a b\u00a0c", "x"]
    encoded = encode(texts, [], "word", PAD_UNKNOWN_START_END)
    assert token_counts(texts, "word").tolist() == encoded[1].tolist() == [2, 1]
    assert token_counts(["ab", "日本語"], "char").tolist() == [2, 3]


def test_pairs_skip_blank_lines_strip_carriage_returns_and_ignore_a_third_column(tmp_path):
    (tmp_path / "a.tsv").write_bytes(b"Go.\tVa !\tCC-BY 2.0 (France)\r\n\r\nHi.\tSalut !\n")
    (tmp_path / "b.tsv").write_text("Run!\tCours !\n")
    assert read_pairs(str(tmp_path), "char", 10, 10) == [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !")]
    assert read_pairs(str(tmp_path / "*.tsv"), "word", 10, 10) == read_pairs(str(tmp_path), "word", 10, 10)


def test_splits_are_seeded_disjoint_and_cover_every_pair():
    pairs = [(str(k), str(k)) for k in range(100)]
    splits = split_pairs(pairs, 0.1, 3, "pairs")
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (80, 10, 10)
    assert sorted(splits.train + splits.valid + splits.test) == sorted(pairs)
    assert split_pairs(pairs, 0.1, 3, "pairs") == splits and split_pairs(pairs, 0.1, 4, "pairs") != splits
    with pytest.raises(InputError, match="pairs: 2 pairs, too few"):
        split_pairs(pairs[:2], 0.1, 0, "pairs")
