"""The long-range task generators: their structure, and the baselines they document,
measured on generated data within sampling error."""

import math

import numpy as np
import pytest

from zoo.data.synthetic import (
    COPY_BLANK,
    COPY_MARKER,
    ORDER_ALPHABET,
    TASKS,
    adding_problem,
    copy_memory,
    temporal_order,
    temporal_order_positions,
)


@pytest.mark.parametrize("length", [10, 100])
def test_adding_problem_targets_and_the_mean_guess_baseline(length):
    inputs, targets = adding_problem(np.random.default_rng(0), 20000, length)
    assert inputs.shape == (20000, length, 2) and inputs.dtype == np.float32
    markers = inputs[..., 1]
    assert np.all(markers.sum(1) == 2)
    half = length // 2
    assert np.all(markers[:, :half].sum(1) == 1) and np.all(markers[:, half:].sum(1) == 1)
    np.testing.assert_allclose(targets, (inputs[..., 0] * markers).sum(1), rtol=1e-6)
    # Predicting the mean 1: MSE = Var(u + u') = 1/6; standard error of the estimate below.
    errors = (targets - 1.0) ** 2
    assert abs(errors.mean() - TASKS["adding"].baseline(length)) < 4 * errors.std() / np.sqrt(len(errors))


@pytest.mark.parametrize("blanks", [5, 50])
def test_copy_memory_structure_and_the_memoryless_baseline(blanks):
    inputs, targets = copy_memory(np.random.default_rng(1), 20000, blanks)
    ids = inputs.argmax(-1)
    assert inputs.shape == (20000, blanks + 20, 10)
    assert np.all(ids[:, blanks + 9] == COPY_MARKER)
    np.testing.assert_array_equal(targets[:, -10:], ids[:, :10])
    assert np.all(targets[:, :-10] == COPY_BLANK) and np.all(ids[:, 10:blanks + 9] == COPY_BLANK)
    # The best predictor that ignores the input: each step's class frequencies.
    cross_entropy = 0.0
    for step in range(targets.shape[1]):
        frequencies = np.bincount(targets[:, step], minlength=10) / len(targets)
        cross_entropy -= np.mean(np.log(frequencies[targets[:, step]])) / targets.shape[1]
    expected = TASKS["copy"].baseline(blanks)
    assert expected == pytest.approx(10 * math.log(8) / (blanks + 20))
    assert cross_entropy == pytest.approx(expected, rel=2e-3)


@pytest.mark.parametrize("length", [10, 100])
def test_temporal_order_structure_and_the_guess_baseline(length):
    inputs, classes = temporal_order(np.random.default_rng(2), 20000, length)
    ids = inputs.argmax(-1)
    assert np.all(ids[:, 0] == ORDER_ALPHABET.index("B")) and np.all(ids[:, -1] == ORDER_ALPHABET.index("E"))
    relevant = ids >= ORDER_ALPHABET.index("X")
    assert np.all(relevant.sum(1) == 2)
    (lo1, hi1), (lo2, hi2) = temporal_order_positions(length)
    first = relevant.argmax(1)
    second = length - 1 - relevant[:, ::-1].argmax(1)
    assert lo1 <= first.min() and first.max() < hi1 and lo2 <= second.min() and second.max() < hi2
    order = 2 * (ids[np.arange(len(ids)), first] - 6) + (ids[np.arange(len(ids)), second] - 6)
    np.testing.assert_array_equal(order, classes)
    # Guessing the most frequent class errs 3 times in 4.
    error = 1.0 - np.bincount(classes).max() / len(classes)
    assert abs(error - TASKS["temporal_order"].baseline(length)) < 4 * np.sqrt(0.75 * 0.25 / len(classes))


def test_the_same_seed_gives_the_same_batch():
    for task in TASKS.values():
        first = task.generate(np.random.default_rng([3, 0, 7]), 4, 12)
        second = task.generate(np.random.default_rng([3, 0, 7]), 4, 12)
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a, b)


def test_ntm_copy_holds_the_vectors_a_delimiter_then_blanks_and_half_the_bits_is_the_baseline():
    length = 7
    inputs, targets = TASKS["ntm_copy"].generate(np.random.default_rng(4), 4096, length)
    assert inputs.shape == (4096, 2 * length + 1, 9) and targets.shape == (4096, length, 8)
    assert TASKS["ntm_copy"].steps(length) == 2 * length + 1
    np.testing.assert_array_equal(inputs[:, :length, :8], targets)
    np.testing.assert_array_equal(inputs[:, :length, 8], 0)
    np.testing.assert_array_equal(inputs[:, length], np.eye(9)[8][None].repeat(4096, 0))  # the delimiter alone
    np.testing.assert_array_equal(inputs[:, length + 1:], 0)
    assert set(np.unique(targets)) == {0.0, 1.0}
    # An input-blind guess (all zeros) gets half the 8 L bits wrong on average.
    wrong = targets.sum(axis=(1, 2))
    assert abs(wrong.mean() - TASKS["ntm_copy"].baseline(length)) < 4 * wrong.std() / np.sqrt(len(wrong))
