"""Stream batching: contiguous rows, and TBPTT windows that continue each row exactly."""

import numpy as np
import pytest

from zoo.data import cut_into_streams, tbptt_windows, window_count


def test_rows_are_contiguous_stretches_of_the_corpus():
    ids = np.arange(20)
    streams = cut_into_streams(ids, 3)
    np.testing.assert_array_equal(streams, [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11],
                                            [12, 13, 14, 15, 16, 17]])


@pytest.mark.parametrize("k1,k2", [(4, 4), (3, 5), (1, 1), (2, 7)])
def test_row_j_of_window_n_plus_1_continues_row_j_of_window_n(k1, k2):
    batch, length = 4, 50
    ids = np.random.default_rng(0).integers(0, 1000, size=batch * length)
    streams = cut_into_streams(ids, batch)
    windows = [(x.numpy(), y.numpy()) for x, y in tbptt_windows(streams, k1, k2)]
    assert len(windows) == window_count(length, k1, k2) == (length - 1 - k2) // k1 + 1
    for n, (inputs, targets) in enumerate(windows):
        np.testing.assert_array_equal(inputs, streams[:, n * k1:n * k1 + k2])
        np.testing.assert_array_equal(targets, streams[:, n * k1 + 1:n * k1 + k2 + 1])
        if n:
            previous = windows[n - 1][0]
            np.testing.assert_array_equal(inputs[:, :k2 - k1], previous[:, k1:])
    # Scored positions (the last k1 of each window) tile the stream without gaps.
    scored = np.concatenate([y[:, k2 - k1:] for _, y in windows], axis=1)
    np.testing.assert_array_equal(scored, streams[:, k2 - k1 + 1:k2 - k1 + 1 + scored.shape[1]])


def test_windows_resume_from_a_given_window():
    streams = cut_into_streams(np.arange(200), 2)
    every = [x.numpy() for x, _ in tbptt_windows(streams, 5, 8)]
    later = [x.numpy() for x, _ in tbptt_windows(streams, 5, 8, first_window=7)]
    assert len(later) == len(every) - 7
    for a, b in zip(every[7:], later):
        np.testing.assert_array_equal(a, b)


def test_a_stream_shorter_than_one_window_has_no_window():
    assert window_count(10, 5, 10) == 0
    assert window_count(11, 5, 10) == 1
