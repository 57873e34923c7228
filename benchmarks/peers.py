"""What the throughput benchmarks share: the configuration, its FLOP count, the peers that
need no TensorFlow (the Keras built-in model, PyTorch), the command line and the table.

Configuration for every peer: batch 64, 100 steps per window, embedding 64, vocabulary
96, one recurrent layer, Adam, whole training steps (forward, backward, update, carried
state). FLOPs per character of a training step are taken as
3 x forward = 6 x (G * units * (embedding + units) + units * vocab), G the gate count
(LSTM 4, GRU 3, Elman, leaky and reservoir 1); the reservoir's fixed weights get no
gradient, so its recurrent part counts 2 x forward (the forward and the dX chain).
The leaky and reservoir cells have no Keras or PyTorch twin: their rows compare the
fused pass with the zoo's own cell loop.
"""

import argparse
import statistics
import time

import keras

from zoo.models.language_model import build_language_model

BATCH, TIME, EMBEDDING, VOCAB = 64, 100, 64, 96
WINDOWS = 4  # distinct training windows each peer cycles through
GATES = {"lstm": 4, "gru": 3, "elman": 1, "leaky": 1, "reservoir": 1}
KERAS_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "elman": keras.layers.SimpleRNN}


def flops_per_char(cell, units):
    recurrent_passes = 4 if cell == "reservoir" else 6
    return recurrent_passes * GATES[cell] * units * (EMBEDDING + units) + 6 * units * VOCAB


def keras_builtin_model(cell, units):
    """The zoo's state-in/state-out model with a Keras built-in recurrent layer."""
    token_ids = keras.Input((None,), dtype="int32")
    state = [keras.Input((units,)) for _ in range(2 if cell == "lstm" else 1)]
    hidden = keras.layers.Embedding(VOCAB, EMBEDDING)(token_ids)
    hidden, *new_state = KERAS_LAYERS[cell](units, return_sequences=True, return_state=True)(
        hidden, initial_state=state)
    return keras.Model([token_ids, *state], [keras.layers.Dense(VOCAB)(hidden), *new_state])


def torch_trainer(cell, units, device="cpu"):
    """One training step of PyTorch's `nn.LSTM` / `nn.GRU` / `nn.RNN` (cuDNN on "cuda") as
    `step(n)`, on window `n % WINDOWS`, returning once the device has finished it."""
    import torch

    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}[cell]
    embedding = torch.nn.Embedding(VOCAB, EMBEDDING).to(device)
    rnn = layer(EMBEDDING, units, batch_first=True).to(device)
    output = torch.nn.Linear(units, VOCAB).to(device)
    parameters = [*embedding.parameters(), *rnn.parameters(), *output.parameters()]
    optimizer = torch.optim.Adam(parameters, 1e-3)
    windows = torch.randint(0, VOCAB, (WINDOWS, BATCH, TIME + 1), device=device)
    zeros = torch.zeros(1, BATCH, units, device=device)
    carried = (zeros, zeros) if cell == "lstm" else zeros

    def step(n):
        nonlocal carried
        inputs, targets = windows[n % WINDOWS, :, :-1], windows[n % WINDOWS, :, 1:]
        hidden, state = rnn(embedding(inputs), carried)
        loss = torch.nn.functional.cross_entropy(output(hidden).reshape(-1, VOCAB), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # Carry the state, cut the gradient (repackage_hidden).
        carried = tuple(s.detach() for s in state) if cell == "lstm" else state.detach()
        if device != "cpu":
            torch.cuda.synchronize()

    return step


def torch_update(optimizer, modules, loss, clip_norm=1.0):
    """One PyTorch update on `loss` with global-norm clipping of `modules`' gradients, as
    the zoo's guarded update does; returns once it is done (the loss read back)."""
    import torch

    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(modules.parameters(), clip_norm)
    optimizer.step()
    return float(loss.detach())


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
    parser.add_argument("--steps", type=int, default=default_steps,
                        help="timed training steps per peer, taken in turns (default: %(default)s; "
                             "the CPU benchmark takes fewer above 256 units)")
    return parser.parse_args(argv)


def interleaved_seconds(steps, rounds, warm_up=3):
    """Median seconds of each peer's step (`steps`: name -> `step(n)`).

    The peers take turns, one step each per round, the order reversed every other round,
    and each figure is the median: on a shared machine whose speed drifts by tens of
    percent from minute to minute, timing each peer in a block of its own let the drift
    pose as a difference between peers (the same model measured up to 1.3x faster or
    slower in the next block), while turns expose every peer to the same drift and the
    median drops the steps a neighbour interrupted.
    """
    for step in steps.values():
        for n in range(warm_up):
            step(n)
    times = {name: [] for name in steps}
    order = list(steps)
    for n in range(rounds):
        for name in order if n % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            steps[name](warm_up + n)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def zoo_against_torch(peers, work, rounds, blocks):
    """(rate {peer: work per second, median over `blocks`}, spread {peer: "slowest-fastest"},
    "zoo/torch" ratio text) of `peers` ("zoo", and "torch" where PyTorch is installed)
    taking turns for `rounds` steps in each of `blocks` blocks; `work` is one step's."""
    timed = [interleaved_seconds(peers, rounds) for _ in range(blocks)]
    rate = {name: work / statistics.median([block[name] for block in timed]) for name in peers}
    spread = {name: f"{work / max(b[name] for b in timed):.0f}-{work / min(b[name] for b in timed):.0f}"
              for name in peers}
    ratio = f"{rate['zoo'] / rate['torch']:.2f}x" if "torch" in rate else "-"
    return rate, spread, ratio


def compare(arguments, trainer, rounds_for, matmul, torch_device=None):
    """Print one row per cell and size: characters per second of the zoo layer, its own
    cell loop (`fused=False`), the Keras built-in and PyTorch (where `torch_device` is
    given), the zoo's ratios to each, its GFLOP/s and their share of a matmul's rate.

    `trainer(model)` answers `step(n)`: one training step of a Keras model on window
    `n % WINDOWS`, returning once it has finished. `matmul` is `(step, flops)`: one large
    square matmul and its FLOP count, the machine's reference rate. All of them take turns
    (`interleaved_seconds`), `rounds_for(units)` steps each.
    """
    matmul_step, matmul_flops = matmul
    print(f"{'cell':6} {'units':>5} {'zoo ch/s':>9} {'loop ch/s':>9} {'keras ch/s':>10} {'torch ch/s':>10} "
          f"{'zoo/loop':>8} {'zoo/keras':>9} {'zoo/torch':>9} {'zoo GFLOP/s':>11} {'matmul':>6} {'share':>5}")
    for cell in arguments.cells:
        for units in arguments.units:
            steps = {"zoo": trainer(build_language_model(VOCAB, cell, units, 1, EMBEDDING)),
                     "loop": trainer(build_language_model(VOCAB, cell, units, 1, EMBEDDING, fused=False)),
                     "matmul": matmul_step}
            if cell in KERAS_LAYERS:
                steps["keras"] = trainer(keras_builtin_model(cell, units))
                if torch_device:
                    steps["torch"] = torch_trainer(cell, units, torch_device)
            seconds = interleaved_seconds(steps, rounds_for(units))
            rate = {name: BATCH * TIME / seconds[name] for name in steps}
            zoo, torch_rate = rate["zoo"], rate.get("torch", float("nan"))
            rate.setdefault("keras", float("nan"))
            gflops = zoo * flops_per_char(cell, units) / 1e9
            peak = matmul_flops / seconds["matmul"] / 1e9
            print(f"{cell:6} {units:5d} {zoo:9.0f} {rate['loop']:9.0f} {rate['keras']:10.0f} {torch_rate:10.0f} "
                  f"{zoo / rate['loop']:8.2f} {zoo / rate['keras']:9.2f} {zoo / torch_rate:9.2f} "
                  f"{gflops:11.1f} {peak:6.0f} {gflops / peak:5.0%}", flush=True)
            del steps
            keras.utils.clear_session()
