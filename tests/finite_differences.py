"""Autodiff against float64 central differences, on a few entries of each variable."""

import numpy as np
import tensorflow as tf


def assert_gradients_match(loss, variables, rng, entries=6, step=1e-6):
    """The tape's gradient of `loss()` (a float64 scalar of `variables`, tf.Variables)
    equals (loss(v + step) - loss(v - step)) / (2 step) at `entries` random entries of
    each variable, to 1e-5 relative (1e-8 absolute)."""
    with tf.GradientTape() as tape:
        value = loss()
    gradients = tape.gradient(value, variables)
    for variable, gradient in zip(variables, gradients):
        flat = variable.numpy().ravel()
        for index in rng.choice(flat.size, size=min(entries, flat.size), replace=False):
            shifted = flat.copy()
            shifted[index] += step
            variable.assign(shifted.reshape(variable.shape))
            up = loss().numpy()
            shifted[index] -= 2 * step
            variable.assign(shifted.reshape(variable.shape))
            down = loss().numpy()
            variable.assign(flat.reshape(variable.shape))
            np.testing.assert_allclose(np.ravel(gradient)[index], (up - down) / (2 * step), rtol=1e-5, atol=1e-8)
    return gradients
