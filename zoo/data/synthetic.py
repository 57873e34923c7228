"""Synthetic long-range dependency tasks, generated from a seed (nothing stored or downloaded).

Each generator returns float32 inputs [count, time, features] (values, or one-hot
symbols) and targets, drawn from a NumPy generator, so batch b of a run is drawn from
(seed, b) and is the same on every machine.

- Adding problem (Hochreiter & Schmidhuber, 1997; in the variant of Le et al., 2015 and
  Arjovsky et al., 2016): step t holds (v_t, m_t), v_t ~ U[0, 1], m_t = 1 at exactly two
  steps (one drawn in each half of the sequence), 0 elsewhere; the target is the sum of
  the two marked values. Predicting the mean, 1, scores MSE Var(v + v') = 1/6 ~ 0.167.
- Copy memory (Arjovsky et al., 2016): 10 symbols drawn from 8, then T - 1 blanks, a
  marker, and 10 blanks; the target is T + 10 blanks, then the 10 symbols. Alphabet: 0-7
  symbols, 8 blank, 9 marker. A model that outputs blanks and then guesses among the 8
  symbols scores 10 ln 8 / (T + 20) nats per step.
- Temporal order (Hochreiter & Schmidhuber, 1997, experiment 6a): symbols a, b, c, d
  everywhere except B at the start, E at the end, and X or Y at two steps t1 in [0.1 T,
  0.2 T) and t2 in [0.5 T, 0.6 T); the class is the order XX, XY, YX or YY. Guessing
  errs 3 times in 4.
- NTM copy (Graves, Wayne & Danihelka, 2014, section 4.1): L random 8-bit vectors, then a
  delimiter flag on a ninth input channel, then L blank steps in which the network writes
  the vectors back; the targets are the vectors, scored at those last L steps. The error
  is bits wrong per sequence; an input-blind guess gets half the 8 L bits wrong. A run
  trains on L drawn from 1-20 (one L per batch) and is tested at longer L unretrained.
"""

import dataclasses
import math

import numpy as np

COPY_SYMBOLS, COPY_BLANK, COPY_MARKER, COPY_ALPHABET, COPY_RECALLED = 8, 8, 9, 10, 10
ORDER_ALPHABET = "abcdBEXY"
NTM_COPY_BITS = 8
NTM_COPY_TRAINED = (1, 20)  # the lengths a run trains on, as in the paper
ORDER_CLASSES = ("XX", "XY", "YX", "YY")


def one_hot(ids, size):
    return np.eye(size, dtype=np.float32)[ids]


def adding_problem(rng, count, length):
    """(inputs [count, length, 2], targets [count] float32)."""
    values = rng.uniform(0.0, 1.0, (count, length))
    half = length // 2
    first = rng.integers(0, half, count)
    second = rng.integers(half, length, count)
    markers = np.zeros((count, length))
    markers[np.arange(count), first] = 1.0
    markers[np.arange(count), second] = 1.0
    targets = values[np.arange(count), first] + values[np.arange(count), second]
    return np.stack([values, markers], axis=-1).astype(np.float32), targets.astype(np.float32)


def copy_memory(rng, count, blanks):
    """(inputs [count, blanks + 20, 10] one-hot, targets [count, blanks + 20] int32)."""
    symbols = rng.integers(0, COPY_SYMBOLS, (count, COPY_RECALLED))
    length = blanks + 2 * COPY_RECALLED
    inputs = np.full((count, length), COPY_BLANK)
    inputs[:, :COPY_RECALLED] = symbols
    inputs[:, blanks + COPY_RECALLED - 1] = COPY_MARKER
    targets = np.full((count, length), COPY_BLANK)
    targets[:, -COPY_RECALLED:] = symbols
    return one_hot(inputs, COPY_ALPHABET), targets.astype(np.int32)


def temporal_order_positions(length):
    """The ranges [lo, hi) of t1 and t2 for sequences of `length` steps."""
    return ((max(1, length // 10), max(2, length // 5)),
            (max(3, length // 2), max(4, 6 * length // 10)))


def temporal_order(rng, count, length):
    """(inputs [count, length, 8] one-hot over `ORDER_ALPHABET`, classes [count] int32:
    0 XX, 1 XY, 2 YX, 3 YY)."""
    ids = rng.integers(0, 4, (count, length))
    ids[:, 0], ids[:, -1] = ORDER_ALPHABET.index("B"), ORDER_ALPHABET.index("E")
    (lo1, hi1), (lo2, hi2) = temporal_order_positions(length)
    first, second = rng.integers(lo1, hi1, count), rng.integers(lo2, hi2, count)
    which = rng.integers(0, 2, (count, 2))  # 0: X, 1: Y
    ids[np.arange(count), first] = ORDER_ALPHABET.index("X") + which[:, 0]
    ids[np.arange(count), second] = ORDER_ALPHABET.index("X") + which[:, 1]
    return one_hot(ids, len(ORDER_ALPHABET)), (2 * which[:, 0] + which[:, 1]).astype(np.int32)


def ntm_copy(rng, count, length):
    """(inputs [count, 2 length + 1, 9], targets [count, length, 8] float32 bits): the
    vectors on channels 0-7 of the first `length` steps, the delimiter on channel 8 of the
    next; the targets are the vectors, which the last `length` steps score."""
    bits = rng.integers(0, 2, (count, length, NTM_COPY_BITS)).astype(np.float32)
    inputs = np.zeros((count, 2 * length + 1, NTM_COPY_BITS + 1), np.float32)
    inputs[:, :length, :NTM_COPY_BITS] = bits
    inputs[:, length, NTM_COPY_BITS] = 1.0
    return inputs, bits


@dataclasses.dataclass(frozen=True)
class SyntheticProblem:
    """A task's shape and scoring.

    Attributes:
        generate: `generate(rng, count, length)` -> (inputs, targets).
        features: Input features per step.
        outputs: 1 (regression), the number of classes, or of bits where `bits`.
        per_step: Whether steps have targets (else only the sequence): every step, or
            where `bits`, the last steps, as many as the targets have.
        error_name: What the error is (the table's unit).
        baseline: `baseline(length)`: the error of the best input-blind guess.
        minimum_length: The shortest sequence the task is defined for.
        bits: Whether the outputs are independent bits (sigmoid), not one value or class.
        trained_lengths: (shortest, longest) lengths a run trains on, one drawn per
            batch, where the task measures length generalisation (its runs are tested at
            other lengths); None: a run trains and is tested at one length.
    """
    generate: object
    features: int
    outputs: int
    per_step: bool
    error_name: str
    baseline: object
    minimum_length: int
    bits: bool = False
    trained_lengths: tuple = None

    @property
    def regression(self):
        return self.outputs == 1 and not self.bits

    def steps(self, length):
        """Time steps of a sequence at `length` (the copy task adds 20 to its blanks, the
        NTM copy task a delimiter and the written copy)."""
        if self.generate is copy_memory:
            return length + 2 * COPY_RECALLED
        return 2 * length + 1 if self.generate is ntm_copy else length


TASKS = {
    "adding": SyntheticProblem(adding_problem, 2, 1, False, "mean squared error",
                            lambda length: 1.0 / 6.0, 2),
    "copy": SyntheticProblem(copy_memory, COPY_ALPHABET, COPY_ALPHABET, True,
                          "cross-entropy (nats per step)",
                          lambda blanks: COPY_RECALLED * math.log(COPY_SYMBOLS) / (blanks + 20), 1),
    "temporal_order": SyntheticProblem(temporal_order, len(ORDER_ALPHABET), 4, False, "error rate",
                                    lambda length: 0.75, 10),
    "ntm_copy": SyntheticProblem(ntm_copy, NTM_COPY_BITS + 1, NTM_COPY_BITS, True, "bits wrong per sequence",
                              lambda length: NTM_COPY_BITS * length / 2, 1, bits=True,
                              trained_lengths=NTM_COPY_TRAINED),
}
