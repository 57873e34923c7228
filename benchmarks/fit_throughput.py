"""`model.fit` throughput of the zoo's Keras-named layers against the Keras built-ins and
PyTorch, in one run.

    python -m benchmarks.fit_throughput [--cells lstm gru elman] [--units 128 256] [--steps 20]

The model is what a user writes: `Embedding(96, 64)`, one recurrent layer returning
sequences (`zoo.layers.LSTM(units, return_sequences=True)` or `keras.layers.LSTM`), a
`Dense(96)` read-out, `compile(Adam, SparseCategoricalCrossentropy(from_logits=True))`;
a step is `model.train_on_batch`, the compiled train function `model.fit` runs per batch,
on batches of 64 rows of 100 steps (`benchmarks.peers`). PyTorch's peer is the
`nn.LSTM` / `nn.GRU` / `nn.RNN` training loop of `benchmarks.peers` on the same shapes.
The peers take turns step by step (`interleaved_seconds`); compare the ratios.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import zoo.layers  # noqa: E402
from benchmarks import peers  # noqa: E402
from zoo.run.cpu_allocator import keep_freed_memory_in_process  # noqa: E402

BATCH, EMBEDDING, TIME, VOCAB, WINDOWS = peers.BATCH, peers.EMBEDDING, peers.TIME, peers.VOCAB, peers.WINDOWS
LAYERS = {"lstm": (zoo.layers.LSTM, keras.layers.LSTM), "gru": (zoo.layers.GRU, keras.layers.GRU),
          "elman": (zoo.layers.Elman, keras.layers.SimpleRNN)}


def fit_step(layer_class, units):
    """One `model.fit` step (train_on_batch) of the user's model as `step(n)`."""
    model = keras.Sequential([keras.Input((TIME,), dtype="int32"), keras.layers.Embedding(VOCAB, EMBEDDING),
                              layer_class(units, return_sequences=True), keras.layers.Dense(VOCAB)])
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    windows = np.random.default_rng(0).integers(0, VOCAB, (WINDOWS, BATCH, TIME + 1)).astype(np.int32)

    def step(n):
        window = windows[n % WINDOWS]
        model.train_on_batch(window[:, :-1], window[:, 1:])

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fit_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--cells", nargs="+", default=sorted(LAYERS), choices=sorted(LAYERS))
    parser.add_argument("--units", nargs="+", type=int, default=[128, 256])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per peer (default: %(default)s)")
    arguments = parser.parse_args(argv)
    keep_freed_memory_in_process()
    print(f"keras {keras.__version__}, torch {peers.torch_version() or 'not installed'}; "
          f"batch {BATCH} x {TIME} steps, embedding {EMBEDDING}, vocabulary {VOCAB}")
    print(f"{'cell':6} {'units':>5} {'zoo ch/s':>9} {'keras ch/s':>10} {'torch ch/s':>10} "
          f"{'zoo/keras':>9} {'zoo/torch':>9}")
    for cell in arguments.cells:
        for units in arguments.units:
            ours, builtin = LAYERS[cell]
            steps = {"zoo": fit_step(ours, units), "keras": fit_step(builtin, units)}
            if peers.torch_version():
                steps["torch"] = peers.torch_trainer(cell, units)
            rate = {name: BATCH * TIME / seconds
                    for name, seconds in peers.interleaved_seconds(steps, arguments.steps).items()}
            torch_rate = rate.get("torch", float("nan"))
            print(f"{cell:6} {units:5d} {rate['zoo']:9.0f} {rate['keras']:10.0f} {torch_rate:10.0f} "
                  f"{rate['zoo'] / rate['keras']:9.2f} {rate['zoo'] / torch_rate:9.2f}", flush=True)
            del steps
            keras.utils.clear_session()


if __name__ == "__main__":
    main()
