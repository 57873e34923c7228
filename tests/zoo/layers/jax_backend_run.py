"""Run `zoo.RecurrentLayer` under the Keras JAX backend and print what the test compares.

    KERAS_BACKEND=jax python tests/zoo/layers/jax_backend_run.py

For each cell kind: the fused layer (the backend's kernel where it has one) and the
cell loop (`fused=False`), same weights and dropout seed. Float32: JAX runs float32
unless told otherwise, and that is what users train in. Prints one JSON object: per
kind, how often `keras.src.backend.gru` / `lstm` returned a result and the largest
difference |a - b| / (1 + |b|) over outputs, final states and the gradients of every
weight and of the input.
"gru_reset_after_portable" repeats "gru_reset_after" inside `portable_kernels()`. Also
whether TensorFlow was imported (it must not be: the zoo runs without it).
"""

import contextlib
import json
import sys

import jax
import keras
import numpy as np
from keras.src import backend as keras_backend

import zoo
from zoo.layers.recurrent import portable_kernels

BATCH, STEPS, FEATURES, UNITS = 3, 7, 5, 4
KINDS = {
    "lstm": lambda: zoo.LSTMCell(UNITS, dropout=0.3, seed=3, dtype="float32"),
    "gru_reset_after": lambda: zoo.GRUCell(UNITS, dropout=0.3, seed=3, dtype="float32"),
    "gru_reset_before": lambda: zoo.GRUCell(UNITS, reset_after=False, dropout=0.3, seed=3, dtype="float32"),
    "elman": lambda: zoo.ElmanCell(UNITS, dropout=0.3, seed=3, dtype="float32"),
}
KINDS["gru_reset_after_portable"] = KINDS["gru_reset_after"]
kernel_calls = {"lstm": 0, "gru": 0}


def counted(name):
    """The backend's kernel `name`, counting its calls that return a result."""
    kernel = getattr(keras_backend, name)

    def call(*args, **kwargs):
        result = kernel(*args, **kwargs)
        kernel_calls[name] += 1
        return result

    return call


def relative_difference(a, b):
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    return float((np.abs(a - b) / (1.0 + np.abs(b))).max())


def outputs_and_gradients(layer, x, initial_state):
    non_trainable = [v.value for v in layer.non_trainable_variables]  # the dropout seed

    def loss(trainable, x):
        (outputs, *states), _ = layer.stateless_call(trainable, non_trainable, x, initial_state=initial_state,
                                                    training=True)
        value = jax.numpy.sin(3.0 * outputs).sum() + sum(jax.numpy.cos(2.0 * s).sum() for s in states)
        return value, [outputs, *states]

    trainable = [v.value for v in layer.trainable_variables]
    (_, results), (d_weights, d_x) = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(trainable, x)
    return [*results, *d_weights, d_x]


def main():
    keras_backend.lstm, keras_backend.gru = counted("lstm"), counted("gru")
    x = np.random.default_rng(7).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    report = {"backend": keras.backend.backend(), "tensorflow_imported": "tensorflow" in sys.modules}
    for kind, make_cell in KINDS.items():
        before = dict(kernel_calls)
        layers = [zoo.RecurrentLayer(make_cell(), fused=fused, return_sequences=True, return_state=True,
                                     dtype="float32") for fused in (True, False)]
        for layer in layers:
            layer.build((BATCH, STEPS, FEATURES))
        rng = np.random.default_rng(5)
        layers[0].set_weights([rng.normal(size=w.shape).astype("float32") * 0.5 for w in layers[0].get_weights()])
        layers[1].set_weights(layers[0].get_weights())
        initial_state = [rng.normal(size=(BATCH, UNITS)).astype("float32") for _ in layers[0].cell.state_size]
        results = []
        for layer in layers:
            layer.cell.seed_generator.state.assign([11, 0])  # the same dropout masks
            with portable_kernels() if kind.endswith("_portable") else contextlib.nullcontext():
                results.append(outputs_and_gradients(layer, x, initial_state))
        report[kind] = {
            "kernel_calls": {name: kernel_calls[name] - before[name] for name in kernel_calls},
            "max_difference": max(relative_difference(a, b) for a, b in zip(*results)),
            "compared": len(results[0]),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
