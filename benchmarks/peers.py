"""What the throughput benchmarks share: the configuration, its FLOP count, the peers that
need no TensorFlow (the Keras built-in model, PyTorch), the command line and the table.

Configuration for every peer: batch 64, 100 steps per window, embedding 64, vocabulary
96, one recurrent layer (`--layers` stacks more), Adam, whole training steps (forward,
backward, update, carried state). FLOPs per character of a training step are taken as
3 x forward = 6 x (sum over layers of G * units * (input + units) + units * vocab), G the
gate count (LSTM 4, GRU 3, Elman, leaky and reservoir 1), the input the embedding for
the first layer and the units above it; the reservoir's fixed weights get no gradient,
so its recurrent part counts 2 x forward (the forward and the dX chain).
The leaky and reservoir cells have no Keras or PyTorch twin: their rows compare the
fused pass with the zoo's own cell loop.
"""

import argparse
import contextlib
import statistics
import time

import keras

from zoo.models.language_model import build_language_model

BATCH, TIME, EMBEDDING, VOCAB = 64, 100, 64, 96
WINDOWS = 4  # distinct training windows each peer cycles through
GATES = {"lstm": 4, "gru": 3, "elman": 1, "leaky": 1, "reservoir": 1}
KERAS_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "elman": keras.layers.SimpleRNN}


def flops_per_char(cell, units, layers=1):
    recurrent_passes = 4 if cell == "reservoir" else 6
    inputs = EMBEDDING + (layers - 1) * units  # summed over the layers
    return recurrent_passes * GATES[cell] * units * (inputs + layers * units) + 6 * units * VOCAB


def keras_builtin_model(cell, units, layers=1):
    """The zoo's state-in/state-out model with Keras built-in recurrent layers."""
    token_ids = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(VOCAB, EMBEDDING)(token_ids)
    states, new_states = [], []
    for _ in range(layers):
        state = [keras.Input((units,)) for _ in range(2 if cell == "lstm" else 1)]
        hidden, *new_state = KERAS_LAYERS[cell](units, return_sequences=True, return_state=True)(
            hidden, initial_state=state)
        states += state
        new_states += new_state
    return keras.Model([token_ids, *states], [keras.layers.Dense(VOCAB)(hidden), *new_states])


def torch_trainer(cell, units, device="cpu", layers=1):
    """One training step of PyTorch's `nn.LSTM` / `nn.GRU` / `nn.RNN` (cuDNN on "cuda") as
    `step(n)`, on window `n % WINDOWS`, returning once the device has finished it."""
    import torch

    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}[cell]
    embedding = torch.nn.Embedding(VOCAB, EMBEDDING).to(device)
    rnn = layer(EMBEDDING, units, num_layers=layers, batch_first=True).to(device)
    output = torch.nn.Linear(units, VOCAB).to(device)
    parameters = [*embedding.parameters(), *rnn.parameters(), *output.parameters()]
    optimizer = torch.optim.Adam(parameters, 1e-3)
    windows = torch.randint(0, VOCAB, (WINDOWS, BATCH, TIME + 1), device=device)
    zeros = torch.zeros(layers, BATCH, units, device=device)
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


def parse_arguments(prog, description, default_steps, argv=None, pool=False):
    """The benchmarks' shared flags; `pool` adds `--pool` (TensorFlow's thread pools)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "elman"], choices=sorted(GATES))
    parser.add_argument("--units", nargs="+", type=int, default=[128, 256, 512, 1024])
    parser.add_argument("--layers", nargs="+", type=int, default=[1], help="stacked recurrent layers")
    parser.add_argument("--steps", type=int, default=default_steps,
                        help="timed training steps per peer, taken in turns (default: %(default)s; "
                             "the CPU benchmark takes fewer above 256 units)")
    parser.add_argument("--clock-ghz", type=float, default=None,
                        help="the clock the FP32 peak is computed at (default: the highest 'cpu MHz' in "
                             "/proc/cpuinfo, which a virtual machine lists at its nominal clock, not the "
                             "boost clock it runs at)")
    if pool:
        parser.add_argument("--pool", choices=("recipe", "default"), default="recipe",
                            help="TensorFlow's intra-op pool: as a recipe sets it for the auto schedule "
                                 "(one thread on a 2-core machine), or TensorFlow's default")
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
    """Print one row per cell, layer count and size: characters per second of the zoo
    layers (the `auto` schedule, `zoo.fused.schedule`, with the compiled step kernels,
    `zoo.fused.native`, where the cell has them), the same with TensorFlow ops only
    ("tf ops"), their one-pass schedule (`single`), their own cell loop (`fused=False`),
    the Keras built-in and PyTorch (where `torch_device` is given), the zoo's ratios to
    each, its GFLOP/s and their share of a matmul's rate and of the CPU's FP32 peak
    (`fp32_peak`).

    `trainer(model)` answers `step(n)`: one training step of a Keras model on window
    `n % WINDOWS`, returning once it has finished. `matmul` is `(step, flops)`: one large
    square matmul and its FLOP count, the machine's reference rate. All of them take turns
    (`interleaved_seconds`), `rounds_for(units)` steps each.
    """
    matmul_step, matmul_flops = matmul
    peak, peak_text = fp32_peak(clock_ghz=arguments.clock_ghz)
    print(f"FP32 peak: {peak_text}")
    print(f"{'cell':6} {'layers':>6} {'units':>5} {'zoo ch/s':>9} {'tf ops':>9} {'single':>9} {'loop ch/s':>9} "
          f"{'keras ch/s':>10} {'torch ch/s':>10} {'zoo/tf ops':>10} {'zoo/single':>10} {'zoo/loop':>8} "
          f"{'zoo/keras':>9} {'zoo/torch':>9} {'zoo GFLOP/s':>11} {'matmul':>6} {'share':>5} {'of peak':>7}")
    for cell in arguments.cells:
        for layers in arguments.layers:
            for units in arguments.units:
                def model(fused=True, cell=cell, units=units, layers=layers):
                    return build_language_model(VOCAB, cell, units, layers, EMBEDDING, fused=fused)

                steps = {"zoo": on_schedule("auto", trainer(model())),
                         "tf_ops": on_schedule("auto", trainer(model()), tf_ops=True),
                         "single": on_schedule("single", trainer(model())),
                         "loop": trainer(model(fused=False)),
                         "matmul": matmul_step}
                if cell in KERAS_LAYERS:
                    steps["keras"] = trainer(keras_builtin_model(cell, units, layers))
                    if torch_device:
                        steps["torch"] = torch_trainer(cell, units, torch_device, layers)
                seconds = interleaved_seconds(steps, rounds_for(units))
                rate = {name: BATCH * TIME / seconds[name] for name in steps}
                zoo, torch_rate = rate["zoo"], rate.get("torch", float("nan"))
                rate.setdefault("keras", float("nan"))
                gflops = zoo * flops_per_char(cell, units, layers) / 1e9
                matmul_rate = matmul_flops / seconds["matmul"] / 1e9
                print(f"{cell:6} {layers:6d} {units:5d} {zoo:9.0f} {rate['tf_ops']:9.0f} {rate['single']:9.0f} "
                      f"{rate['loop']:9.0f} {rate['keras']:10.0f} {torch_rate:10.0f} {zoo / rate['tf_ops']:10.2f} "
                      f"{zoo / rate['single']:10.2f} {zoo / rate['loop']:8.2f} {zoo / rate['keras']:9.2f} "
                      f"{zoo / torch_rate:9.2f} {gflops:11.1f} {matmul_rate:6.0f} {gflops / matmul_rate:5.0%} "
                      f"{gflops / peak if peak else float('nan'):7.0%}", flush=True)
                del steps
                keras.utils.clear_session()


def on_schedule(name, step, tf_ops=False):
    """`step(n)` run (and so traced) with every fused pass on schedule `name`, and with
    TensorFlow ops only where `tf_ops` (no compiled step kernels, `zoo.fused.native`)."""
    from zoo.fused.native import tf_ops_only
    from zoo.fused.schedule import fused_schedule

    def run(n):
        with fused_schedule(name), tf_ops_only() if tf_ops else contextlib.nullcontext():
            step(n)

    return run


def fp32_peak(cpuinfo=None, clock_ghz=None):
    """(GFLOP/s, how it was computed) of the CPU's FP32 peak from /proc/cpuinfo (or the
    text `cpuinfo`): cores x clock x 2 FMA units x lanes x 2 FLOPs per FMA; 16 lanes with
    AVX-512, 8 with AVX2, and 8 on AMD's Zen 4 (family 25), whose AVX-512 runs on two
    256-bit FMA units, half of each 512-bit instruction per unit. The clock is the highest
    "cpu MHz" listed (a virtual machine lists its nominal clock), or `clock_ghz` where
    given. (None, why) where it cannot be read."""
    try:
        text = cpuinfo if cpuinfo is not None else open("/proc/cpuinfo").read()
    except OSError:
        return None, "unknown (no /proc/cpuinfo)"
    fields, clocks = {}, []
    for line in text.splitlines():
        name, _, value = (part.strip() for part in line.partition(":"))
        fields.setdefault(name, value)  # the first processor's
        if name == "cpu MHz":
            clocks.append(float(value) / 1000)
    ghz = clock_ghz or max(clocks, default=None)
    if not ghz:
        return None, "unknown (no clock in /proc/cpuinfo)"
    from zoo.fused.schedule import cpu_cores

    flags = fields.get("flags", "").split()
    zen4 = fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "25"
    lanes = 8 if zen4 else 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    cores = cpu_cores()
    peak = cores * ghz * 2 * lanes * 2
    return peak, f"{peak:.0f} GFLOP/s = {cores} cores x {ghz:.2f} GHz x 2 FMA units x {lanes} lanes x 2"
