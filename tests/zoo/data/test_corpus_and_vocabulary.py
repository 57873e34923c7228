"""Corpus sources, their errors, the fixed split, and the vocabulary."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from zoo.data import DEFAULT_CORPUS, CharacterVocabulary, load_corpus, split_corpus
from zoo.data.tokens import MAX_CHARACTERS
from zoo.run.errors import InputError


def test_default_corpus_is_real_deterministic_prose():
    text = load_corpus(DEFAULT_CORPUS)
    assert len(text) > 300_000
    assert "statement" in text and "assert" in text
    assert load_corpus("") == text


def test_file_folder_and_glob(tmp_path):
    (tmp_path / "b.txt").write_text("second", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first é", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.md").write_text("third", encoding="utf-8")
    (tmp_path / ".hidden").write_text("never", encoding="utf-8")
    assert load_corpus(str(tmp_path / "a.txt")) == "first é"
    assert load_corpus(str(tmp_path)) == "first é\nsecond\nthird"
    assert load_corpus(str(tmp_path / "*.txt")) == "first é\nsecond"


def test_tfds_source_offline_with_mock_data():
    with tfds.testing.mock_data(num_examples=3):
        text = load_corpus("tfds:tiny_shakespeare")
    assert isinstance(text, str) and len(text) > 0


@pytest.mark.parametrize("make,expected", [
    (lambda d: str(d / "missing.txt"), "no such file"),
    (lambda d: str(d / "nothing*.txt"), "matches no file"),
    (lambda d: (d / "empty").mkdir() or str(d / "empty"), "holds no file"),
    (lambda d: (d / "bin.dat").write_bytes(b"abc\x00def") and str(d / "bin.dat"),
     "binary.*offset 3"),
    (lambda d: (d / "latin1.txt").write_bytes(b"caf\xe9 ok") and str(d / "latin1.txt"),
     "not UTF-8.*offset 3"),
    (lambda d: "tfds:", "tfds:NAME"),
])
def test_bad_sources_are_named_in_one_line(tmp_path, make, expected):
    source = make(tmp_path)
    with pytest.raises(InputError, match=expected) as error:
        load_corpus(source)
    assert "\n" not in str(error.value)


def test_split_is_the_fixed_tail():
    train, valid = split_corpus("abcdefghij", 0.2)
    assert (train, valid) == ("abcdefgh", "ij")


def test_vocabulary_reserves_the_unknown_id_and_round_trips(tmp_path):
    vocabulary = CharacterVocabulary.from_text("hello world")
    assert vocabulary.size == len(set("hello world")) + 1
    ids = vocabulary.encode("hold xyz")
    assert ids.dtype == np.int32
    assert list(ids[-3:]) == [CharacterVocabulary.UNKNOWN_ID] * 3
    assert vocabulary.decode(vocabulary.encode("hello")) == "hello"
    vocabulary.save(tmp_path / "v.json")
    assert CharacterVocabulary.load(tmp_path / "v.json") == vocabulary
    newline = CharacterVocabulary.from_text("a\nb\"\\")
    newline.save(tmp_path / "n.json")
    assert CharacterVocabulary.load(tmp_path / "n.json") == newline


def test_vocabulary_over_the_limit_is_refused():
    text = "".join(chr(0x4E00 + i) for i in range(MAX_CHARACTERS + 1))
    with pytest.raises(InputError, match=f"{MAX_CHARACTERS + 1} distinct characters"):
        CharacterVocabulary.from_text(text, "--data 'cjk.txt'")
