"""An update in row groups (`zoo.training.row_groups`) against the whole-batch update, and
the windowed dropout that makes them equal (`zoo.layers.row_window`)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.fused.schedule import fused_schedule
from zoo.layers.row_window import RowWindows, row_window, windowed_dropout
from zoo.models.language_model import build_language_model
from zoo.training.row_groups import MAX_UNITS, update_row_groups
from zoo.training.tbptt import TBPTTRule

VOCAB, BATCH, K1, K2 = 11, 7, 4, 6  # 7 rows: groups of 4 and 3


def trained(schedule, dropout):
    """(losses, weights, carried state) after two TBPTT updates of a float64 two-layer
    LSTM model with every fused pass on `schedule`, and how many row groups it took."""
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        keras.utils.set_random_seed(3)
        model = build_language_model(VOCAB, "lstm", 6, 2, 5, dropout=dropout, seed=5)
        trainer = TBPTTRule(model, keras.optimizers.SGD(0.5), BATCH, K1, K2)
        ids = tf.constant(np.random.default_rng(0).integers(0, VOCAB, (2, BATCH, K2 + 1)), tf.int32)
        with fused_schedule(schedule):
            groups = update_row_groups(model, BATCH)
            losses = [float(trainer.train_step(window[:, :-1], window[:, 1:])["loss"]) for window in ids]
        return losses, model.get_weights(), [s.numpy() for s in trainer.carried_state], groups
    finally:
        keras.config.set_floatx("float32")


def test_an_update_in_row_groups_equals_the_whole_batch_update_in_float64():
    """Dropout on both recurrent layers' inputs and before the output layer, k2 > k1 (two
    model calls a window), uneven groups: the same losses, weights and carried state."""
    whole = trained("single", dropout=0.4)
    grouped = trained("batch-split", dropout=0.4)
    assert (whole[3], grouped[3]) == (1, 2)
    np.testing.assert_allclose(grouped[0], whole[0], rtol=1e-12)
    for a, b in zip(grouped[1] + grouped[2], whole[1] + whole[2]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # The masks took effect: without dropout the losses are others.
    assert not np.allclose(trained("single", dropout=0.0)[0], whole[0], rtol=1e-6)


@pytest.mark.parametrize("noise_shape", [None, (None, 1, 4), (1, 3, 4)])
def test_each_window_draws_its_rows_of_the_whole_batch_mask_and_the_seed_advances_once(noise_shape):
    inputs = tf.reshape(tf.range(5 * 3 * 4, dtype=tf.float32) + 1, [5, 3, 4])
    whole_generator, windows_generator = keras.random.SeedGenerator(9), keras.random.SeedGenerator(9)
    whole = [windowed_dropout(inputs, 0.5, whole_generator, noise_shape) for _ in range(2)]
    windows = RowWindows(5, [3, 2])
    parts = [[], []]
    for window, (first, rows) in enumerate(zip(windows.firsts, windows.sizes)):
        with row_window(windows, window):
            for draw in range(2):
                parts[draw].append(windowed_dropout(inputs[first:first + rows], 0.5, windows_generator, noise_shape))
    for draw in range(2):
        np.testing.assert_array_equal(tf.concat(parts[draw], 0), whole[draw])
    np.testing.assert_array_equal(windows_generator.state.numpy(), whole_generator.state.numpy())
    assert 0 < np.mean(whole[0].numpy() == 0) < 1


def test_a_window_may_not_draw_more_than_the_first():
    windows = RowWindows(4, [2, 2])
    with row_window(windows, 1), pytest.raises(RuntimeError, match="more random numbers"):
        windowed_dropout(tf.ones([2, 3]), 0.5, keras.random.SeedGenerator(1))


def test_updates_split_only_where_every_draw_is_windowed_and_the_passes_would_split():
    fused = build_language_model(VOCAB, "lstm", 6, 2, 5, dropout=0.1)
    with fused_schedule("batch-split"):
        assert update_row_groups(fused, BATCH) == 2
        assert update_row_groups(fused, None) == 1
        assert update_row_groups(build_language_model(VOCAB, "lstm", 6, 1, 5, fused=False), BATCH) == 1
        inputs = keras.Input((None,), dtype="int32")
        hidden = keras.layers.Embedding(VOCAB, 4)(inputs)
        built_in = keras.Model(inputs, keras.layers.Dense(VOCAB)(keras.layers.LSTM(6, return_sequences=True)(hidden)))
        assert update_row_groups(built_in, BATCH) == 1
        rnn = fused.get_layer("rnn_0")
        assert update_row_groups(keras.Model(inputs, rnn(hidden)), BATCH) == 2
        # A draw per group; statistics over the batch.
        for across_rows in (keras.layers.Dropout(0.1), keras.layers.BatchNormalization()):
            assert update_row_groups(keras.Model(inputs, rnn(across_rows(hidden))), BATCH) == 1
        wide = build_language_model(VOCAB, "lstm", MAX_UNITS + 1, 1, 5)
        assert update_row_groups(wide, BATCH) == 1  # its passes split instead
    with fused_schedule("single"):
        assert update_row_groups(fused, BATCH) == 1
    # auto: 6 units are too few to split
    assert update_row_groups(fused, 64) == 1
