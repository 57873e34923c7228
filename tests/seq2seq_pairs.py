"""A small pair file for seq2seq tests: English number words -> French number words."""

import numpy as np

ENGLISH = "zero one two three four five six seven eight nine".split()
FRENCH = "zéro un deux trois quatre cinq six sept huit neuf".split()


def word_pairs(count, seed=0):
    """`count` lines of 'two one<TAB>deux un<TAB>CC-BY' (1 to 3 words, seeded), in the
    Tatoeba files' layout with an attribution column."""
    rng = np.random.default_rng(seed)
    rows = [rng.integers(0, 10, rng.integers(1, 4)) for _ in range(count)]
    return "".join(" ".join(ENGLISH[d] for d in r) + "\t" + " ".join(FRENCH[d] for d in r) + "\tCC-BY\n"
                   for r in rows)
