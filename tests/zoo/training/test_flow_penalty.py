"""The information-flow regulariser (Pascanu et al., 2013, eq. 9) against NumPy back-
propagation written from its equations on a small Elman network, its gradient against
float64 central differences, and zero for a linear unit with orthogonal recurrent
weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.cells import ElmanCell, make_cell
from zoo.layers.recurrent import RecurrentLayer
from zoo.training.flow_penalty import flow_penalty


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
    cell = make_cell(kind, 4, **({"periods": (1, 2)} if kind == "clockwork" else {}))
    layer = keras.layers.RNN(cell, return_sequences=False)
    x = tf.random.stateless_normal((2, 5, 3), seed=(0, 1))
    layer(x)
    with tf.GradientTape() as tape:
        penalty = flow_penalty(layer, x, lambda h: tf.reduce_sum(tf.square(h)))
    gradients = tape.gradient(penalty, layer.trainable_variables)
    assert np.isfinite(float(penalty)) and float(penalty) > 0
    assert any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)
