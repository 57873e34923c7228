"""Central finite differences in float64 agree with autodiff for the LSTM and GRU cells."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo

CELLS = {
    "lstm": lambda: zoo.LSTMCell(4, dtype="float64"),
    "gru_reset_after": lambda: zoo.GRUCell(4, reset_after=True, dtype="float64"),
    "gru_reset_before": lambda: zoo.GRUCell(4, reset_after=False, dtype="float64"),
}


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_autodiff_matches_central_differences(kind):
    rng = np.random.default_rng(11)
    layer = keras.layers.RNN(CELLS[kind](), return_sequences=True, return_state=True,
                             dtype="float64")
    x = tf.constant(rng.normal(size=(2, 6, 3)))
    layer.build(x.shape)
    layer.set_weights([rng.normal(0, 0.5, w.shape) for w in layer.get_weights()])
    probes = [tf.constant(rng.normal(size=o.shape)) for o in layer(x)]

    def loss():
        return sum(tf.reduce_sum(o * p) for o, p in zip(layer(x), probes))

    with tf.GradientTape() as tape:
        value = loss()
    variables = layer.trainable_weights
    autodiff = tape.gradient(value, [v.value for v in variables])

    eps = 1e-6
    for variable, grad in zip(variables, autodiff):
        base = variable.numpy()
        numeric = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            for sign in (1.0, -1.0):
                shifted = base.copy()
                shifted[index] += sign * eps
                variable.assign(shifted)
                numeric[index] += sign * loss().numpy() / (2 * eps)
        variable.assign(base)
        relative = np.linalg.norm(grad.numpy() - numeric) / np.linalg.norm(numeric)
        assert relative < 1e-6, f"{variable.path}: relative error {relative:.2e}"
