"""Gate-bias initialisation and variational dropout of the zoo cells."""

import keras
import numpy as np
import pytest
from cell_kinds import CELL_KINDS, randomize

import zoo

INPUT_DIM, UNITS = 6, 5


def built(cell, input_dim=INPUT_DIM):
    cell.build((None, input_dim))
    return cell


@pytest.mark.parametrize("forget_bias", [1.0, 2.5, 0.0])
def test_lstm_forget_bias_is_the_forget_slice_and_the_rest_is_zero(forget_bias):
    bias = built(zoo.LSTMCell(UNITS, forget_bias=forget_bias)).bias.numpy()
    expected = np.zeros(4 * UNITS)
    expected[UNITS:2 * UNITS] = forget_bias  # gate order i, f, c, o
    np.testing.assert_array_equal(bias, expected)


def test_lstm_default_forget_bias_is_one():
    assert zoo.LSTMCell(UNITS).forget_bias == 1.0


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_update_bias_default_makes_a_fresh_cell_keep_most_of_its_state(reset_after):
    bias = built(zoo.GRUCell(UNITS, reset_after=reset_after)).bias.numpy()
    # z, r, h order; with reset_after the z gate sees input bias + recurrent bias.
    total = bias.sum(axis=0) if reset_after else bias
    expected = np.zeros(3 * UNITS)
    expected[:UNITS] = 1.0
    np.testing.assert_array_equal(total, expected)
    if reset_after:
        np.testing.assert_array_equal(bias[1], np.zeros(3 * UNITS))
    # h_t = z h_{t-1} + (1 - z) hh: at the start z = sigmoid(1) = 0.73 of the state is kept.
    assert 1.0 / (1.0 + np.exp(-total[:UNITS])) == pytest.approx(0.731, abs=1e-3)


def test_gate_bias_keeps_a_custom_base_initializer_elsewhere():
    cell = built(zoo.LSTMCell(UNITS, forget_bias=3.0, bias_initializer="ones"))
    np.testing.assert_array_equal(cell.bias.numpy()[UNITS:2 * UNITS], 3.0)
    np.testing.assert_array_equal(cell.bias.numpy()[:UNITS], 1.0)


@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
@pytest.mark.parametrize("dropout,recurrent_dropout", [(0.4, 0.0), (0.0, 0.4), (0.3, 0.5)])
def test_one_dropout_mask_per_sequence_reused_at_every_step(kind, dropout, recurrent_dropout):
    """The layer's training output equals the NumPy equations with one fixed mask per row."""
    make_cell, _, numpy_forward = CELL_KINDS[kind]
    cell = make_cell(UNITS, dropout=dropout, recurrent_dropout=recurrent_dropout, seed=5)
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer.build((None, None, INPUT_DIM))
    randomize(layer, seed=9)

    drawn = []
    draw = cell._create_dropout_mask

    def record(step_input, rate):
        drawn.append(draw(step_input, rate))
        return drawn[-1]

    cell._create_dropout_mask = record

    batch, time = 16, 12
    x = np.random.default_rng(1).normal(size=(batch, time, INPUT_DIM)).astype("float32")
    outputs = keras.ops.convert_to_numpy(layer(x, training=True))

    masks = {m.shape[-1]: keras.ops.convert_to_numpy(m) for m in drawn}
    expected_count = (dropout > 0) + (recurrent_dropout > 0)
    assert len(drawn) == expected_count, "masks are drawn once per sequence, not per step"
    input_mask = masks.get(INPUT_DIM, 1.0) if dropout else 1.0
    state_mask = masks.get(UNITS, 1.0) if recurrent_dropout else 1.0
    for mask in masks.values():
        assert mask.shape[0] == batch
        assert len({row.tobytes() for row in mask}) > batch // 2, "rows share one mask"
        kept = {np.float32(1.0 / (1.0 - rate)) for rate in (dropout, recurrent_dropout) if rate}
        assert set(np.unique(mask)) <= {np.float32(0.0)} | kept

    weights = layer.get_weights()
    expected = numpy_forward(x.astype(np.float64), *weights,
                             input_mask=input_mask, state_mask=state_mask)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
    inference = keras.ops.convert_to_numpy(layer(x, training=False))
    np.testing.assert_allclose(inference, numpy_forward(x.astype(np.float64), *weights), atol=1e-5)
