"""Tagged sentences in CoNLL form, the format taggers read: read, checked, split.

    EU<TAB>B-ORG            one token per line, a tab, then its label; several label
    rejects<TAB>O           columns are more tabs (every line of a data set has the
                            same number); a blank line ends a sentence
    German<TAB>B-MISC

Lines starting with `-DOCSTART-` (CoNLL-2003's document marks) are skipped. A `--data`
value is a file, a folder or a glob (`zoo.data.files`); its files are read in sorted
order. Every check names FILE:LINE and what was expected: a line whose field count
differs from the data set's first line, an empty token or label, two blank lines in a
row (an empty sentence), a NUL byte or invalid UTF-8 (the line of the offending byte), a
file with no sentence at all; and when the splits are put together, a validation or
test label that no training sentence has.
"""

import dataclasses

import numpy as np

from zoo.data.files import data_files, read_data_bytes, without_byte_order_mark
from zoo.run.errors import InputError

DOCUMENT_START = "-DOCSTART-"


@dataclasses.dataclass
class Sentence:
    """Tokens, their labels (one list per label column) and where the sentence starts."""
    tokens: list
    labels: list
    where: str  # FILE:LINE of its first token


def read_conll(source, flag="--data", columns=None):
    """The `Sentence`s of the CoNLL files `source` names (see the module docstring);
    `columns`, the label columns another split has, holds this one to the same count."""
    sentences = []
    fields = None if columns is None else (columns + 1, f"the training data's {columns} label column(s)")
    for path in data_files(source, flag):
        before = len(sentences)
        fields = _read_file(path, flag, sentences, fields)
        if len(sentences) == before:
            raise InputError(f"{path}: no sentence; expected TOKEN<TAB>LABEL lines, a blank line between sentences")
    return sentences


def _read_file(path, flag, sentences, fields):
    data = read_data_bytes(path, flag)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(f"{path}:{_line_of(data, nul)}: a NUL byte; expected UTF-8 text")
    try:
        text = without_byte_order_mark(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(f"{path}:{_line_of(data, error.start)}: not UTF-8 (undecodable byte "
                         f"{data[error.start]:#04x}); expected UTF-8 text") from None
    tokens, labels, start, blank = [], [], None, None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        where = f"{path}:{number}"
        if not line.strip():
            if tokens:
                sentences.append(Sentence(tokens, [list(column) for column in zip(*labels)], start))
                tokens, labels = [], []
            elif blank is not None and blank == number - 1:
                raise InputError(f"{where}: an empty sentence (a second blank line in a row); expected one "
                                 "blank line between sentences")
            blank = number
            continue
        if line.startswith(DOCUMENT_START) and not tokens:
            continue
        parts = line.split("\t")
        if fields is None:
            if len(parts) < 2:
                raise InputError(f"{where}: {len(parts)} tab-separated field(s); expected a token, a tab "
                                 "and at least one label")
            fields = (len(parts), f"{len(parts) - 1} label column(s), as on {where}")
        if len(parts) != fields[0]:
            raise InputError(f"{where}: {len(parts)} tab-separated field(s); expected a token and {fields[1]}")
        if not all(part.strip() for part in parts):
            empty = "token" if not parts[0].strip() else f"label in column {[p.strip() for p in parts].index('')}"
            raise InputError(f"{where}: an empty {empty}; expected TOKEN<TAB>LABEL with neither empty")
        if not tokens:
            start = where
        tokens.append(parts[0].strip())
        labels.append([part.strip() for part in parts[1:]])
    if tokens:
        sentences.append(Sentence(tokens, [list(column) for column in zip(*labels)], start))
    return fields


def _line_of(data, offset):
    return data.count(b"\n", 0, offset) + 1


def distinct(sentences):
    """`sentences` with each token sequence kept once (its first occurrence), so that no
    text is shared across splits drawn from them."""
    seen, kept = set(), []
    for sentence in sentences:
        key = "\t".join(sentence.tokens)
        if key not in seen:
            seen.add(key)
            kept.append(sentence)
    return kept


def chunked(sentences, max_tokens):
    """`sentences` with each longer than `max_tokens` cut into near-equal pieces of at
    most `max_tokens` (a piece of a CoNLL sentence names the line of its first token)."""
    pieces = []
    for sentence in sentences:
        count = -(-len(sentence.tokens) // max_tokens)
        size = -(-len(sentence.tokens) // count)
        for first in range(0, len(sentence.tokens), size):
            where = sentence.where
            if first and where.rpartition(":")[2].isdigit():
                path, _, line = where.rpartition(":")
                where = f"{path}:{int(line) + first}"
            pieces.append(Sentence(sentence.tokens[first:first + size],
                                   [labels[first:first + size] for labels in sentence.labels], where))
    return pieces


def shuffled_split(items, shares, seed):
    """`items` cut into len(shares) + 1 lists by a seeded shuffle of their positions: the
    first len(items) * share[i] (rounded, at least one) for split i, the rest last."""
    order = np.random.default_rng(seed).permutation(len(items))
    splits, first = [], 0
    for share in shares:
        count = max(1, int(round(len(items) * share)))
        splits.append([items[i] for i in sorted(order[first:first + count])])
        first += count
    splits.append([items[i] for i in sorted(order[first:])])
    if not splits[-1]:
        raise InputError(f"{len(items)} distinct sentences are too few to split; expected at least "
                         f"{len(shares) + 1}")
    return splits


def check_known_labels(train, others, names):
    """InputError naming FILE:LINE of the first label of `others` (validation or test
    sentences) that no sentence of `train` has, per column `names`."""
    known = [set() for _ in names]
    for sentence in train:
        for column, labels in enumerate(sentence.labels):
            known[column].update(labels)
    for sentence in others:
        for column, labels in enumerate(sentence.labels):
            for offset, label in enumerate(labels):
                if label not in known[column]:
                    path, line = sentence.where.rsplit(":", 1)
                    where = f"{path}:{int(line) + offset}"
                    raise InputError(f"{where}: label {label!r} ({names[column]}) has no training example; "
                                     "expected the labels of the training data")
