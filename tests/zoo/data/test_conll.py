"""CoNLL reading (`zoo.data.conll`): columns, sentences, document marks, pieces of long
sentences, seeded splits without shared text, and the bad-input table, each one line
naming FILE:LINE."""

import pytest

from zoo.data.conll import check_known_labels, chunked, distinct, read_conll, shuffled_split
from zoo.run.errors import InputError

TWO_COLUMNS = "-DOCSTART-\tO\tO\n\nEU\tB-ORG\tNNP\nrejects\tO\tVBZ\n\nPeter\tB-PER\tNNP\r\nBlackburn\tI-PER\tNNP\n"


def test_sentences_columns_and_their_first_lines(tmp_path):
    (tmp_path / "a.conll").write_text(TWO_COLUMNS)
    (tmp_path / "b.conll").write_text("\ufeffGerman\tB-MISC\tJJ\n")
    sentences = read_conll(str(tmp_path))
    assert [s.tokens for s in sentences] == [["EU", "rejects"], ["Peter", "Blackburn"], ["German"]]
    assert sentences[1].labels == [["B-PER", "I-PER"], ["NNP", "NNP"]]
    assert [s.where for s in sentences] == [f"{tmp_path}/a.conll:3", f"{tmp_path}/a.conll:6",
                                            f"{tmp_path}/b.conll:1"]


def test_a_long_sentence_is_cut_into_near_equal_pieces_naming_their_lines(tmp_path):
    path = tmp_path / "long.conll"
    path.write_text("".join(f"w{k}\tL{k % 2}\n" for k in range(10)))
    pieces = chunked(read_conll(str(path)), 4)
    assert [len(p.tokens) for p in pieces] == [4, 4, 2]
    assert [p.where.rsplit(":", 1)[1] for p in pieces] == ["1", "5", "9"]
    assert pieces[2].labels == [["L0", "L1"]]


def test_the_split_keeps_each_text_once_and_shares_none():
    from zoo.data.conll import Sentence
    sentences = [Sentence([f"w{k % 30}"], [["x"]], f"f:{k}") for k in range(50)]
    kept = distinct(sentences)
    assert len(kept) == 30 and [s.where for s in kept] == [f"f:{k}" for k in range(30)]
    valid, test, train = shuffled_split(kept, (0.1, 0.2), seed=3)
    assert (len(valid), len(test), len(train)) == (3, 6, 21)
    texts = [{s.tokens[0] for s in split} for split in (valid, test, train)]
    assert not (texts[0] & texts[1]) and not (texts[0] & texts[2]) and not (texts[1] & texts[2])
    assert shuffled_split(kept, (0.1, 0.2), seed=3)[0] == valid != shuffled_split(kept, (0.1, 0.2), seed=4)[0]


BAD = {
    "wrong column count": ("a\tO\nb\tO\tX\n", "bad.conll:2: 3 tab-separated field(s); expected a token and 1 label "
                           "column(s), as on"),
    "no label": ("a\n", "bad.conll:1: 1 tab-separated field(s); expected a token, a tab and at least one label"),
    "empty sentence": ("a\tO\n\n\nb\tO\n", "bad.conll:3: an empty sentence (a second blank line in a row)"),
    "empty token": ("a\tO\n \tO\n", "bad.conll:2: an empty token"),
    "empty label": ("a\tO\nb\t\n", "bad.conll:2: an empty label in column 1"),
    "NUL byte": (b"a\tO\nb\tO\x00\n", "bad.conll:2: a NUL byte; expected UTF-8 text"),
    "invalid UTF-8": (b"a\tO\n\nb\tO\n\xff\tO\n", "bad.conll:4: not UTF-8 (undecodable byte 0xff)"),
    "no sentence": ("\n-DOCSTART-\tO\n", "bad.conll: no sentence; expected TOKEN<TAB>LABEL lines"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_names_the_file_and_line(tmp_path, case):
    content, expected = BAD[case]
    path = tmp_path / "bad.conll"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InputError) as error:
        read_conll(str(path))
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_another_split_must_have_the_training_column_count(tmp_path):
    (tmp_path / "dev.conll").write_text("a\tO\tX\n")
    with pytest.raises(InputError, match=r"dev.conll:1: 3 tab-separated field\(s\); expected a token and the "
                       r"training data's 1 label column"):
        read_conll(str(tmp_path / "dev.conll"), "--valid-data", columns=1)


def test_a_label_only_in_validation_names_its_line(tmp_path):
    (tmp_path / "train.conll").write_text("a\tO\nb\tB-X\n")
    (tmp_path / "dev.conll").write_text("a\tO\n\nc\tO\nd\tB-Y\n")
    with pytest.raises(InputError, match=r"dev.conll:4: label 'B-Y' \(column_1\) has no training example"):
        check_known_labels(read_conll(str(tmp_path / "train.conll")), read_conll(str(tmp_path / "dev.conll")),
                           ["column_1"])
