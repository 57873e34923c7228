"""Neural Turing Machine training throughput, sequence steps per second: the zoo's
`NTMCell` in `recipes.long_range`'s model (the cell loop, `GeneratedBatchRule`, Adam)
against a PyTorch twin of the same cell written from the same equations, in one
invocation, the peers taking turns (`benchmarks.peers.interleaved_seconds`).

    pip install torch==2.13.0      # the peer (the CPU wheel); not a dependency of the project
    python -m benchmarks.ntm_throughput [--units 64 128] [--length 30] [--steps 10]

Both train on the same adding-problem batches (64 sequences of `--length` steps, 2
features, `zoo.data.synthetic`), a 16 x 8 memory, one read and one write head, the
readout on the last output, mean squared error. The twin steps the cell in a Python loop
(as PyTorch runs any custom cell), the zoo in a `tf.while_loop` inside one `tf.function`.
The twin's first step is checked against the zoo's on the same weights before timing.
"""

import argparse

import numpy as np
import tensorflow as tf

from benchmarks.peers import torch_update, torch_version, zoo_against_torch
from recipes.long_range import batch_loss
from zoo.data.synthetic import TASKS
from zoo.models.long_range import build_long_range_model
from zoo.training.minibatch import GeneratedBatchRule

BATCH, ROWS, WIDTH, BATCHES = 64, 16, 8, 4


def adding_batches(length):
    return [TASKS["adding"].generate(np.random.default_rng([0, k]), BATCH, length) for k in range(BATCHES)]


def zoo_trainer(units, batches):
    model = build_long_range_model(2, 1, "ntm", units, 1, per_step=False,
                                   cell_options={"memory_rows": ROWS, "memory_width": WIDTH})
    rule = GeneratedBatchRule(model, tf.keras.optimizers.Adam(1e-3), batch_loss(TASKS["adding"]),
                              lambda k: batches[k % BATCHES], BATCH)
    tensors = [tuple(tf.constant(a) for a in batch) for batch in batches]

    def step(n):
        float(rule.train_step(*tensors[n % BATCHES])["loss"])

    return step, model


def torch_ntm(units, features):
    """The zoo's NTMCell in PyTorch (`zoo.cells.ntm`: the same equations, state and
    parameter layout)."""
    import torch

    shifts, eps, m, n = 3, 1e-6, WIDTH, ROWS
    columns = m + 3 + shifts

    class NTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.kernel = torch.nn.Parameter(torch.zeros(features + m, 4 * units))
            self.recurrent = torch.nn.Parameter(torch.zeros(units, 4 * units))
            self.bias = torch.nn.Parameter(torch.zeros(4 * units))
            self.head_kernel = torch.nn.Parameter(torch.zeros(units, 2 * columns + 2 * m))
            self.head_bias = torch.nn.Parameter(torch.zeros(2 * columns + 2 * m))

        def address(self, memory, p, previous):
            key, strength = p[:, :m], torch.nn.functional.softplus(p[:, m:m + 1])
            gate = torch.sigmoid(p[:, m + 1:m + 2])
            shift = torch.softmax(p[:, m + 2:m + 2 + shifts], -1)
            sharpening = 1 + torch.nn.functional.softplus(p[:, m + 2 + shifts:])
            norm = lambda x: torch.sqrt((x * x).sum(-1) + eps ** 2)
            dot = torch.einsum("bnm,bm->bn", memory, key)
            content = torch.softmax(strength * dot / (norm(memory) * norm(key)[:, None] + eps), -1)
            gated = gate * content + (1 - gate) * previous
            shifted = (shift[:, 0:1] * torch.roll(gated, -1, 1) + shift[:, 1:2] * gated
                       + shift[:, 2:3] * torch.roll(gated, 1, 1))
            sharpened = (shifted + eps) ** sharpening
            return sharpened / sharpened.sum(-1, keepdim=True)

        def forward(self, x, state):
            h, c, r, read_w, write_w, flat = state
            memory = flat.view(-1, n, m)
            z = torch.cat([x, r], -1) @ self.kernel + h @ self.recurrent + self.bias
            i, f = torch.sigmoid(z[:, :units]), torch.sigmoid(z[:, units:2 * units])
            g, o = torch.tanh(z[:, 2 * units:3 * units]), torch.sigmoid(z[:, 3 * units:])
            c = f * c + i * g
            h = o * torch.tanh(c)
            p = h @ self.head_kernel + self.head_bias
            read_w = self.address(memory, p[:, :columns], read_w)
            write_w = self.address(memory, p[:, columns:2 * columns], write_w)
            erase, add = torch.sigmoid(p[:, 2 * columns:2 * columns + m]), torch.tanh(p[:, 2 * columns + m:])
            r = torch.einsum("bn,bnm->bm", read_w, memory)
            memory = memory * (1 - write_w[:, :, None] * erase[:, None, :]) + write_w[:, :, None] * add[:, None, :]
            return torch.cat([h, r], -1), (h, c, r, read_w, write_w, memory.reshape(-1, n * m))

    return NTM()


def copy_weights(model, twin):
    """The zoo model's NTM weights into the twin (the controller's gate order i, f, c, o)."""
    import torch

    cell = model.get_layer("rnn_0").cell
    values = {"kernel": cell.controller.kernel, "recurrent": cell.controller.recurrent_kernel,
              "bias": cell.controller.bias, "head_kernel": cell.head_kernel, "head_bias": cell.head_bias}
    with torch.no_grad():
        for name, variable in values.items():
            getattr(twin, name).copy_(torch.from_numpy(variable.numpy()))


def torch_trainer(units, batches, model):
    import torch

    twin, readout = torch_ntm(units, 2), torch.nn.Linear(units + WIDTH, 1)
    copy_weights(model, twin)
    modules = torch.nn.ModuleList([twin, readout])
    optimizer = torch.optim.Adam(modules.parameters(), 1e-3)
    prepared = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    sizes = [units, units, WIDTH, ROWS, ROWS, ROWS * WIDTH]

    def run(x):
        state = tuple(x.new_zeros(len(x), size) for size in sizes)
        for t in range(x.shape[1]):
            output, state = twin(x[:, t], state)
        return output

    # The twin is the zoo's cell: the same last output on the same weights.
    x = batches[0][0][:4]
    expected = tf.keras.Model(model.input, model.get_layer("rnn_0").output)(x).numpy()
    with torch.no_grad():
        np.testing.assert_allclose(run(torch.from_numpy(x)).numpy(), expected, atol=1e-4)

    def step(k):
        x, y = prepared[k % BATCHES]
        loss = torch.mean((readout(run(x))[:, 0] - y) ** 2)
        torch_update(optimizer, modules, loss)

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ntm_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--units", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--length", type=int, default=30, help="steps per sequence")
    parser.add_argument("--steps", type=int, default=10, help="timed updates per peer and block, taken in turns")
    parser.add_argument("--blocks", type=int, default=3, help="blocks of --steps; the spread is over blocks")
    arguments = parser.parse_args(argv)
    batches = adding_batches(arguments.length)
    work = BATCH * arguments.length  # sequence steps per update
    print(f"adding problem, {BATCH} x {arguments.length} steps an update, memory {ROWS} x {WIDTH}; "
          f"TensorFlow {tf.__version__}, PyTorch {torch_version() or 'not installed'}")
    print(f"{'units':>5} {'zoo steps/s':>11} {'torch steps/s':>13} {'zoo/torch':>9} {'spread zoo':>11} "
          f"{'spread torch':>12}")
    for units in arguments.units:
        zoo_step, model = zoo_trainer(units, batches)
        peers = {"zoo": zoo_step}
        if torch_version():
            peers["torch"] = torch_trainer(units, batches, model)
        rate, spread, ratio = zoo_against_torch(peers, work, arguments.steps, arguments.blocks)
        print(f"{units:>5} {rate['zoo']:>11.0f} {rate.get('torch', float('nan')):>13.0f} {ratio:>9} "
              f"{spread['zoo']:>11} {spread.get('torch', '-'):>12}")


if __name__ == "__main__":
    main()
