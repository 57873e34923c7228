"""Sequence-to-sequence pairs read from tab-separated files (`--data` of `recipes.seq2seq`).

    source<TAB>target[<TAB>anything]      one pair per line

the format of the Tatoeba sentence pairs (manythings.org's files, whose third column is
the attribution, ignored here). `--data` names a file, a folder (every non-hidden file
below it) or a glob, as `zoo.data.files` reads them. Blank lines are skipped. Every line
is checked before anything is written, and the first bad one is named as FILE:LINE: a NUL
byte or undecodable UTF-8, no tab, an empty side, a side longer than its token limit.
"""

import dataclasses

import numpy as np

from zoo.data.files import data_files, read_data_bytes, without_byte_order_mark
from zoo.data.tokens import token_counts
from zoo.run.errors import InputError


@dataclasses.dataclass
class PairSplits:
    """(source, target) pairs of each split."""
    train: list
    valid: list
    test: list


def read_pairs(source, tokens, max_source_tokens, max_target_tokens):
    """Every (source, target) pair of the files `source` names, in file and line order."""
    pairs = []
    for path in data_files(source):
        pairs.extend(_file_pairs(path, tokens, max_source_tokens, max_target_tokens))
    if not pairs:
        raise InputError(f"{source}: no pairs; expected lines of source<TAB>target")
    return pairs


def _file_pairs(path, tokens, max_source_tokens, max_target_tokens):
    raw = read_data_bytes(path)
    pairs, numbers = [], []
    for number, line in enumerate(raw.split(b"\n"), 1):
        if b"\0" in line:
            raise InputError(f"{path}:{number}: a NUL byte, the file looks binary; expected UTF-8 text")
        try:
            text = line.decode("utf-8").rstrip("\r")
            text = without_byte_order_mark(text) if number == 1 else text
        except UnicodeDecodeError as error:
            raise InputError(f"{path}:{number}: undecodable bytes at column {error.start + 1}; "
                             "expected UTF-8 text") from None
        if not text.strip():
            continue
        if "\t" not in text:
            raise InputError(f"{path}:{number}: no tab; expected source<TAB>target")
        source, target = text.split("\t")[:2]
        for side, value in (("source", source), ("target", target)):
            if not value.strip():
                raise InputError(f"{path}:{number}: the {side} is empty; expected text on both sides of the tab")
        pairs.append((source.strip(), target.strip()))
        numbers.append(number)
    for side, limit, flag, index in (("source", max_source_tokens, "--max-source-length", 0),
                                     ("target", max_target_tokens, "--max-length (less the end token)", 1)):
        counts = token_counts([pair[index] for pair in pairs], tokens) if pairs else np.zeros(0)
        over = np.flatnonzero(counts > limit)
        if over.size:
            first = int(over[0])
            raise InputError(f"{path}:{numbers[first]}: the {side} has {int(counts[first])} {tokens} tokens, "
                             f"over the limit of {limit} ({flag})")
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise InputError(f"{path}:{numbers[int(empty[0])]}: the {side} has no {tokens} token; expected "
                             "at least one")
    return pairs


def split_pairs(pairs, held_out_share, seed, source):
    """`PairSplits`: a seeded `held_out_share` of the pairs each (at least one) validates and
    tests, the rest trains."""
    order = np.random.default_rng([seed, 11]).permutation(len(pairs))
    held = max(1, int(round(held_out_share * len(pairs))))
    if len(pairs) < 2 * held + 1:
        raise InputError(f"{source}: {len(pairs)} pairs, too few to hold out {held} each for validation and test "
                         "and train on the rest")
    pick = lambda rows: [pairs[i] for i in sorted(rows)]
    return PairSplits(pick(order[2 * held:]), pick(order[:held]), pick(order[held:2 * held]))
