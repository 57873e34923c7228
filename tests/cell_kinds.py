"""Each zoo cell beside its Keras built-in twin and its NumPy reference, for parametrized tests."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import numpy_reference as ref

import zoo

# name -> (zoo cell factory, Keras layer factory, NumPy forward(x, kernel, rec, bias, masks))
CELL_KINDS = {
    "elman": (
        lambda units, **kw: zoo.ElmanCell(units, **kw),
        lambda units, **kw: keras.layers.SimpleRNN(units, **kw),
        lambda x, k, r, b, **m: ref.elman_forward(x, k, r, b, **m),
    ),
    "lstm": (
        lambda units, **kw: zoo.LSTMCell(units, **kw),
        lambda units, **kw: keras.layers.LSTM(units, **kw),
        lambda x, k, r, b, **m: ref.lstm_forward(x, k, r, b, **m)[0],
    ),
    "gru_reset_after": (
        lambda units, **kw: zoo.GRUCell(units, reset_after=True, **kw),
        lambda units, **kw: keras.layers.GRU(units, reset_after=True, **kw),
        lambda x, k, r, b, **m: ref.gru_forward(x, k, r, b, True, **m)[0],
    ),
    "gru_reset_before": (
        lambda units, **kw: zoo.GRUCell(units, reset_after=False, **kw),
        lambda units, **kw: keras.layers.GRU(units, reset_after=False, **kw),
        lambda x, k, r, b, **m: ref.gru_forward(x, k, r, b, False, **m)[0],
    ),
}


def randomize(layer, seed, scale=0.5):
    """Give every weight of a built layer random values (biases too, so no slice hides)."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0.0, scale, w.shape).astype(w.dtype) for w in layer.get_weights()])


def assert_reloads_identically(models, x, folder):
    """Save each model ({name: model}) as .keras, reload it in a fresh interpreter where
    the only thing that makes the cells known is `import zoo`, and compare outputs on x."""
    np.save(folder / "x.npy", x)
    for name, model in models.items():
        model.save(folder / f"{name}.keras")
        np.save(folder / f"{name}.npy", keras.ops.convert_to_numpy(model(x)))
    script = textwrap.dedent(f"""
        import pathlib, numpy as np, keras, zoo
        folder = pathlib.Path({str(folder)!r})
        x = np.load(folder / "x.npy")
        for name in {sorted(models)!r}:
            model = keras.saving.load_model(folder / f"{{name}}.keras", safe_mode=True)
            np.save(folder / f"{{name}}.reloaded.npy", keras.ops.convert_to_numpy(model(x)))
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    for name in models:
        np.testing.assert_array_equal(np.load(folder / f"{name}.reloaded.npy"),
                                      np.load(folder / f"{name}.npy"), err_msg=name)
