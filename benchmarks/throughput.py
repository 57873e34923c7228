"""Training throughput of the zoo layers against Keras built-ins and PyTorch, in one run.

    python -m benchmarks.throughput [--cells lstm gru elman] [--units 128 256 512 1024]

Same configuration for every peer: batch 64, 100 steps per window, embedding 64,
vocabulary 96, one recurrent layer, Adam, whole training steps (forward, backward,
update, carried state) timed after warm-up. Peers: the Keras built-in layer, PyTorch's
`nn.LSTM` / `nn.GRU` / `nn.RNN` if installed, and the zoo's own cell loop (`fused=False`,
what the fused pass replaces). Prints characters per second, the ratio of the zoo to
each peer, the zoo's achieved GFLOP/s and its share of a 2048 x 2048 float32 matmul
measured in the same run. FLOPs per character of a training step are taken as
3 x forward = 6 x (G * units * (embedding + units) + units * vocab), G the gate count
(LSTM 4, GRU 3, Elman 1). These machines are noisy: compare ratios, not absolutes.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from zoo.model import build_language_model  # noqa: E402
from zoo.tbptt import TBPTTTrainer  # noqa: E402

BATCH, TIME, EMBEDDING, VOCAB = 64, 100, 64, 96
GATES = {"lstm": 4, "gru": 3, "elman": 1}
KERAS_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "elman": keras.layers.SimpleRNN}


def flops_per_char(cell, units):
    return 6 * (GATES[cell] * units * (EMBEDDING + units) + units * VOCAB)


def matmul_gflops(size=2048, repeats=10):
    a = tf.random.normal([size, size])
    tf.linalg.matmul(a, a).numpy()
    started = time.perf_counter()
    for _ in range(repeats):
        product = tf.linalg.matmul(a, a)
    product.numpy()
    return 2 * size ** 3 * repeats / (time.perf_counter() - started) / 1e9


def keras_builtin_model(cell, units):
    """The zoo's state-in/state-out model with a Keras built-in recurrent layer."""
    token_ids = keras.Input((None,), dtype="int32")
    state = [keras.Input((units,)) for _ in range(2 if cell == "lstm" else 1)]
    hidden = keras.layers.Embedding(VOCAB, EMBEDDING)(token_ids)
    hidden, *new_state = KERAS_LAYERS[cell](units, return_sequences=True, return_state=True)(
        hidden, initial_state=state)
    return keras.Model([token_ids, *state], [keras.layers.Dense(VOCAB)(hidden), *new_state])


def keras_throughput(model, steps):
    trainer = TBPTTTrainer(model, keras.optimizers.Adam(1e-3), BATCH, TIME, TIME)
    windows = tf.constant(np.random.default_rng(0).integers(0, VOCAB, (steps + 3, BATCH, TIME + 1)),
                          tf.int32)
    for n in range(3):
        float(trainer.train_step(windows[n, :, :-1], windows[n, :, 1:])["loss"])
    started = time.perf_counter()
    for n in range(3, steps + 3):
        result = trainer.train_step(windows[n, :, :-1], windows[n, :, 1:])
    float(result["loss"])
    return steps * BATCH * TIME / (time.perf_counter() - started)


def torch_throughput(cell, units, steps):
    import torch

    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}[cell]
    embedding = torch.nn.Embedding(VOCAB, EMBEDDING)
    rnn = layer(EMBEDDING, units, batch_first=True)
    output = torch.nn.Linear(units, VOCAB)
    parameters = [*embedding.parameters(), *rnn.parameters(), *output.parameters()]
    optimizer = torch.optim.Adam(parameters, 1e-3)
    windows = torch.randint(0, VOCAB, (steps + 3, BATCH, TIME + 1))
    zeros = torch.zeros(1, BATCH, units)
    state = (zeros, zeros) if cell == "lstm" else zeros

    def step(n, state):
        inputs, targets = windows[n, :, :-1], windows[n, :, 1:]
        hidden, state = rnn(embedding(inputs), state)
        loss = torch.nn.functional.cross_entropy(output(hidden).reshape(-1, VOCAB), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # Carry the state, cut the gradient (repackage_hidden).
        return tuple(s.detach() for s in state) if cell == "lstm" else state.detach()

    for n in range(3):
        state = step(n, state)
    started = time.perf_counter()
    for n in range(3, steps + 3):
        state = step(n, state)
    return steps * BATCH * TIME / (time.perf_counter() - started)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "elman"], choices=sorted(GATES))
    parser.add_argument("--units", nargs="+", type=int, default=[128, 256, 512, 1024])
    parser.add_argument("--steps", type=int, default=8, help="timed updates per peer (default: %(default)s)")
    arguments = parser.parse_args(argv)
    try:
        import torch  # noqa: F401

        has_torch = True
    except ImportError:
        has_torch = False
    peak = matmul_gflops()
    print(f"matmul 2048x2048 float32: {peak:.1f} GFLOP/s; TF {tf.__version__}, Keras {keras.__version__}"
          + (f", PyTorch {torch.__version__}" if has_torch else ", PyTorch not installed"))
    print(f"{'cell':6} {'units':>5} {'zoo ch/s':>9} {'loop ch/s':>9} {'keras ch/s':>10} {'torch ch/s':>10} "
          f"{'zoo/loop':>8} {'zoo/keras':>9} {'zoo/torch':>9} {'zoo GFLOP/s':>11} {'of matmul':>9}")
    for cell in arguments.cells:
        for units in arguments.units:
            steps = max(2, arguments.steps * 256 // max(units, 256))
            zoo_rate = keras_throughput(build_language_model(VOCAB, cell, units, 1, EMBEDDING), steps)
            loop_rate = keras_throughput(
                build_language_model(VOCAB, cell, units, 1, EMBEDDING, fused=False), steps)
            keras_rate = keras_throughput(keras_builtin_model(cell, units), steps)
            torch_rate = torch_throughput(cell, units, steps) if has_torch else float("nan")
            gflops = zoo_rate * flops_per_char(cell, units) / 1e9
            print(f"{cell:6} {units:5d} {zoo_rate:9.0f} {loop_rate:9.0f} {keras_rate:10.0f} {torch_rate:10.0f} "
                  f"{zoo_rate / loop_rate:8.2f} {zoo_rate / keras_rate:9.2f} {zoo_rate / torch_rate:9.2f} {gflops:11.1f} "
                  f"{gflops / peak:9.0%}", flush=True)
            keras.utils.clear_session()


if __name__ == "__main__":
    main()
