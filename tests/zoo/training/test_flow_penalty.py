"""The information-flow regulariser (Pascanu et al., 2013, eq. 9) against NumPy back-
propagation written from its equations on a small Elman network, its gradient against
float64 central differences, and zero for a linear unit with orthogonal recurrent
weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.cells import ElmanCell, make_cell
from zoo.layers.probed import probing_states
from zoo.layers.recurrent import RecurrentLayer
from zoo.models.language_model import build_language_model
from zoo.training.flow_penalty import with_flow_penalty
from zoo.training.tbptt import TBPTTRule


def flow_penalty(layer, x, loss_of_outputs, training=False):
    """Omega of `loss_of_outputs(layer(x))`."""
    return with_flow_penalty(lambda: loss_of_outputs(layer(x, training=training)))[1]


def elman_layer(units, features, return_sequences, activation="tanh", seed=0):
    layer = RecurrentLayer(ElmanCell(units, activation=activation, dtype="float64"),
                           return_sequences=return_sequences, dtype="float64")
    layer.build((None, None, features))
    rng = np.random.default_rng(seed)
    for weight in layer.cell.weights:
        weight.assign(rng.normal(0.0, 0.6, weight.shape))
    return layer


def numpy_penalty(x, kernel, recurrent, bias, readout, targets, per_step):
    """Omega of an Elman network h_t = tanh(x_t W + h_{t-1} U + b) with the squared-error
    loss L = sum_b sum_t (h_t v - y_t)^2 (per step) or sum_b (h_T v - y)^2: g_t by
    back-propagation through time, then the vector-Jacobian products."""
    batch, steps, _ = x.shape
    h = np.zeros((batch, steps + 1, recurrent.shape[0]))  # h[:, 0] = h_0 = 0
    for t in range(steps):
        h[:, t + 1] = np.tanh(x[:, t] @ kernel + h[:, t] @ recurrent + bias)
    direct = np.zeros_like(h)
    if per_step:
        direct[:, 1:] = 2 * ((h[:, 1:] @ readout) - targets)[..., None] * readout
    else:
        direct[:, steps] = 2 * ((h[:, steps] @ readout) - targets)[:, None] * readout
    g = np.zeros_like(h)
    g[:, steps] = direct[:, steps]
    for t in range(steps - 1, 0, -1):
        g[:, t] = direct[:, t] + (g[:, t + 1] * (1 - h[:, t + 1] ** 2)) @ recurrent.T
    penalty = 0.0
    for t in range(steps):  # the transition s_t -> s_{t+1}
        carried = (g[:, t + 1] * (1 - h[:, t + 1] ** 2)) @ recurrent.T
        penalty += np.sum((np.linalg.norm(carried, axis=-1) / np.linalg.norm(g[:, t + 1], axis=-1) - 1) ** 2)
    return penalty / batch


@pytest.mark.parametrize("per_step", [False, True])
def test_the_penalty_equals_numpy_backpropagation_through_time(per_step):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 6, 2))
    layer = elman_layer(4, 2, return_sequences=per_step)
    readout = rng.normal(size=4)
    targets = rng.normal(size=(3, 6) if per_step else (3,))

    def loss_of_outputs(outputs):
        return tf.reduce_sum(tf.square(tf.linalg.matvec(outputs, tf.constant(readout)) - targets))

    penalty = flow_penalty(layer, tf.constant(x), loss_of_outputs).numpy()
    kernel, recurrent, bias = (w.numpy() for w in layer.cell.weights)
    expected = numpy_penalty(x, kernel, recurrent, bias, readout, targets, per_step)
    assert expected > 0.1  # the check is not of a vanishing quantity
    np.testing.assert_allclose(penalty, expected, rtol=1e-10)


def test_the_penalty_gradient_is_the_immediate_derivative_with_g_and_states_held():
    """Eq. 10's derivative: g_{t+1} and s_t fixed at their values, the weights moved only
    inside each step's Jacobian, against float64 central differences."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 3))
    layer = elman_layer(3, 3, return_sequences=False, seed=3)
    readout = rng.normal(size=3)
    with tf.GradientTape() as tape:
        penalty = flow_penalty(layer, tf.constant(x),
                               lambda h: tf.reduce_sum(tf.square(tf.linalg.matvec(h, tf.constant(readout)) - 1.0)))
    gradients = [g.numpy() for g in tape.gradient(penalty, layer.cell.trainable_variables)]

    weights = [w.numpy() for w in layer.cell.trainable_variables]  # kernel, recurrent, bias
    h = np.zeros((2, 6, 3))
    for t in range(5):
        h[:, t + 1] = np.tanh(x[:, t] @ weights[0] + h[:, t] @ weights[1] + weights[2])
    g = np.zeros_like(h)
    g[:, 5] = 2 * (h[:, 5] @ readout - 1.0)[:, None] * readout
    for t in range(4, 0, -1):
        g[:, t] = (g[:, t + 1] * (1 - h[:, t + 1] ** 2)) @ weights[1].T

    def held(kernel, recurrent, bias):
        total = 0.0
        for t in range(5):
            following = np.tanh(x[:, t] @ kernel + h[:, t] @ recurrent + bias)  # s_t held
            carried = (g[:, t + 1] * (1 - following ** 2)) @ recurrent.T
            total += np.sum((np.linalg.norm(carried, axis=-1) / np.linalg.norm(g[:, t + 1], axis=-1) - 1) ** 2)
        return total / 2

    assert held(*weights) == pytest.approx(float(penalty), rel=1e-12)
    for k, weight in enumerate(weights):
        for index in np.ndindex(weight.shape):
            moved = [w.copy() for w in weights]
            moved[k][index] += 1e-6
            up = held(*moved)
            moved[k][index] -= 2e-6
            down = held(*moved)
            np.testing.assert_allclose(gradients[k][index], (up - down) / 2e-6, rtol=1e-5, atol=1e-8)
    assert all(np.abs(g).max() > 1e-3 for g in gradients)


def test_the_penalty_is_zero_for_a_linear_unit_with_orthogonal_recurrent_weights():
    rng = np.random.default_rng(4)
    layer = elman_layer(5, 2, return_sequences=True, activation="linear")
    orthogonal, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    layer.cell.recurrent_kernel.assign(orthogonal)
    x = tf.constant(rng.normal(size=(4, 7, 2)))
    penalty = flow_penalty(layer, x, lambda h: tf.reduce_sum(tf.square(h - 0.5)))
    assert abs(float(penalty)) < 1e-20
    layer.cell.recurrent_kernel.assign(1.5 * orthogonal)  # the gradient grows 1.5x per step back
    penalty = flow_penalty(layer, x, lambda h: tf.reduce_sum(tf.square(h - 0.5)))
    assert float(penalty) == pytest.approx(7 * 0.5 ** 2, rel=1e-9)  # (1.5 - 1)^2 at each of 7 steps


@pytest.mark.parametrize("kind", ["lstm", "ntm", "clockwork"])
def test_the_penalty_runs_on_cells_with_several_states(kind):
    """In training mode, as an update calls it (the NTM and Clockwork cells have no dropout)."""
    cell = make_cell(kind, 4, **({"periods": (1, 2)} if kind == "clockwork" else {}))
    layer = RecurrentLayer(cell, return_sequences=False)
    x = tf.random.stateless_normal((2, 5, 3), seed=(0, 1))
    layer(x)
    with tf.GradientTape() as tape:
        penalty = flow_penalty(layer, x, lambda h: tf.reduce_sum(tf.square(h)), training=True)
    gradients = tape.gradient(penalty, layer.trainable_variables)
    assert np.isfinite(float(penalty)) and float(penalty) > 0
    assert any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_the_probed_loop_computes_what_the_layer_computes_with_a_mask(go_backwards):
    layer = RecurrentLayer(make_cell("lstm", 4), return_sequences=True, go_backwards=go_backwards)
    x = tf.random.stateless_normal((3, 6, 2), seed=(0, 2))
    mask = tf.constant(np.arange(6)[None, :] < np.array([[6], [4], [1]]))
    expected = layer(x, mask=mask)
    probed = with_flow_penalty(lambda: tf.reduce_sum(layer(x, mask=mask)))[0]
    np.testing.assert_allclose(probed, tf.reduce_sum(expected), rtol=1e-5)
    with tf.GradientTape() as tape:
        with probing_states(tape):
            outputs = layer(x, mask=mask)
    np.testing.assert_allclose(outputs, expected, atol=1e-6)


def test_masked_steps_hold_the_state_and_add_nothing_as_numpy_says():
    """Right-padded rows: a masked step keeps h_{t-1}, so its Jacobian is the identity."""
    rng = np.random.default_rng(5)
    lengths = np.array([6, 3, 4])
    x = rng.normal(size=(3, 6, 2))
    layer = elman_layer(4, 2, return_sequences=False, seed=6)
    readout = rng.normal(size=4)
    mask = tf.constant(np.arange(6)[None, :] < lengths[:, None])
    penalty = with_flow_penalty(lambda: tf.reduce_sum(tf.square(
        tf.linalg.matvec(layer(tf.constant(x), mask=mask), tf.constant(readout)) - 1.0)))[1]
    kernel, recurrent, bias = (w.numpy() for w in layer.cell.weights)
    expected = 0.0
    for row, length in enumerate(lengths):  # the padded steps drop out: the row's own sequence
        expected += numpy_penalty(x[row:row + 1, :length], kernel, recurrent, bias, readout, np.ones(1), False)
    assert expected > 0.1
    np.testing.assert_allclose(float(penalty), expected / 3, rtol=1e-10)


def test_tbptt_sums_omega_over_both_segments_of_a_window_and_reports_the_task_loss():
    """TBPTT(3, 6) calls the model on steps 1-3, then 4-6 from the state after 3; its Omega
    is the one of a single call over the six steps scoring the same last three."""
    model = build_language_model(9, "gru", units=5, layers=2, embedding_dim=4)
    rule = TBPTTRule(model, keras.optimizers.SGD(0.0), 2, 3, 6, flow_penalty=0.5)
    ids = np.random.default_rng(7).integers(0, 9, size=(2, 7)).astype("int32")
    state = [tf.zeros((2, 5)), tf.zeros((2, 5))]
    loss, _, _, reported = rule.gradients(ids[:, :-1], ids[:, 1:], state)

    def whole_window():
        logits, *_ = model([tf.constant(ids[:, :-1]), *state], training=True)
        return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(ids[:, 4:], logits[:, 3:],
                                                                           from_logits=True))

    expected_loss, omega = with_flow_penalty(whole_window)
    assert float(omega) > 0.01
    np.testing.assert_allclose(float(reported["flow_penalty"]), float(omega), rtol=1e-4)
    np.testing.assert_allclose(float(reported["loss"]), float(expected_loss), rtol=1e-5)
    assert float(loss) == float(reported["loss"])
    result = rule.train_step(ids[:, :-1], ids[:, 1:])
    assert float(result["flow_penalty"]) > 0 and bool(result["finite"])
