"""What the throughput benchmarks share: the configuration, its FLOP count, the peers that
need no TensorFlow (the Keras built-in model, PyTorch), the command line and the table.

Configuration for every peer: batch 64, 100 steps per window, embedding 64, vocabulary
96, one recurrent layer, Adam, whole training steps (forward, backward, update, carried
state). FLOPs per character of a training step are taken as
3 x forward = 6 x (G * units * (embedding + units) + units * vocab), G the gate count
(LSTM 4, GRU 3, Elman 1).
"""

import argparse
import time

import keras

from zoo.model import build_language_model

BATCH, TIME, EMBEDDING, VOCAB = 64, 100, 64, 96
GATES = {"lstm": 4, "gru": 3, "elman": 1}
KERAS_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "elman": keras.layers.SimpleRNN}


def flops_per_char(cell, units):
    return 6 * (GATES[cell] * units * (EMBEDDING + units) + units * VOCAB)


def keras_builtin_model(cell, units):
    """The zoo's state-in/state-out model with a Keras built-in recurrent layer."""
    token_ids = keras.Input((None,), dtype="int32")
    state = [keras.Input((units,)) for _ in range(2 if cell == "lstm" else 1)]
    hidden = keras.layers.Embedding(VOCAB, EMBEDDING)(token_ids)
    hidden, *new_state = KERAS_LAYERS[cell](units, return_sequences=True, return_state=True)(
        hidden, initial_state=state)
    return keras.Model([token_ids, *state], [keras.layers.Dense(VOCAB)(hidden), *new_state])


def torch_throughput(cell, units, steps, device="cpu"):
    """Characters per second of PyTorch's `nn.LSTM` / `nn.GRU` / `nn.RNN` (cuDNN on "cuda")."""
    import torch

    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}[cell]
    embedding = torch.nn.Embedding(VOCAB, EMBEDDING).to(device)
    rnn = layer(EMBEDDING, units, batch_first=True).to(device)
    output = torch.nn.Linear(units, VOCAB).to(device)
    parameters = [*embedding.parameters(), *rnn.parameters(), *output.parameters()]
    optimizer = torch.optim.Adam(parameters, 1e-3)
    windows = torch.randint(0, VOCAB, (steps + 3, BATCH, TIME + 1), device=device)
    zeros = torch.zeros(1, BATCH, units, device=device)
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

    def wait():
        if device != "cpu":
            torch.cuda.synchronize()

    for n in range(3):
        state = step(n, state)
    wait()
    started = time.perf_counter()
    for n in range(3, steps + 3):
        state = step(n, state)
    wait()
    return steps * BATCH * TIME / (time.perf_counter() - started)


def torch_version():
    """PyTorch's version, or None where it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


def parse_arguments(prog, description, default_steps, argv=None):
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "elman"], choices=sorted(GATES))
    parser.add_argument("--units", nargs="+", type=int, default=[128, 256, 512, 1024])
    parser.add_argument("--steps", type=int, default=default_steps, help="timed updates per peer (default: %(default)s)")
    return parser.parse_args(argv)


def compare(arguments, train_rate, steps_for, peak, torch_device=None):
    """Print one row per cell and size: characters per second of the zoo layer, its own
    cell loop (`fused=False`), the Keras built-in and PyTorch (where `torch_device` is
    given), the zoo's ratios to each, its GFLOP/s and their share of `peak`.

    `train_rate(model, steps)` times `steps` training steps of a Keras model.
    """
    print(f"{'cell':6} {'units':>5} {'zoo ch/s':>9} {'loop ch/s':>9} {'keras ch/s':>10} {'torch ch/s':>10} "
          f"{'zoo/loop':>8} {'zoo/keras':>9} {'zoo/torch':>9} {'zoo GFLOP/s':>11} {'of matmul':>9}")
    for cell in arguments.cells:
        for units in arguments.units:
            steps = steps_for(units)
            zoo_rate = train_rate(build_language_model(VOCAB, cell, units, 1, EMBEDDING), steps)
            loop_rate = train_rate(build_language_model(VOCAB, cell, units, 1, EMBEDDING, fused=False), steps)
            keras_rate = train_rate(keras_builtin_model(cell, units), steps)
            torch_rate = torch_throughput(cell, units, steps, torch_device) if torch_device else float("nan")
            gflops = zoo_rate * flops_per_char(cell, units) / 1e9
            print(f"{cell:6} {units:5d} {zoo_rate:9.0f} {loop_rate:9.0f} {keras_rate:10.0f} {torch_rate:10.0f} "
                  f"{zoo_rate / loop_rate:8.2f} {zoo_rate / keras_rate:9.2f} {zoo_rate / torch_rate:9.2f} "
                  f"{gflops:11.1f} {gflops / peak:9.0%}", flush=True)
            keras.utils.clear_session()
