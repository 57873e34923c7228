"""The recurrence's matmul chains on this CPU: two row groups side by side against one pass.

    python -m benchmarks.recurrent_matmuls [--units 256 1024] [--gates 4] [--batch 64]
        [--steps 50] [--pool one|default]

A fused pass's sequential work is two chains of small matmuls, h_{t-1} U forward and
dZ_t U^T backward, U [units, gates * units]. This times `--steps` steps of both chains,
without the elementwise work between them, in two forms, each one graph, taking turns:

    one pass:    [batch, units] x U, then [batch, gates * units] x U^T, per step
    two groups:  the same over two row groups of batch / 2 rows, side by side

and prints the GFLOP/s of each and their ratio. TensorFlow's intra-op pool is per
process: `--pool one` gives it one thread (what a recipe whose passes all split takes,
`zoo.fused.schedule.claim_core_per_group`), `--pool default` leaves TensorFlow's. Run
both to compare one pass threaded over the cores with a core per row group.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from zoo.run.cpu_allocator import keep_freed_memory_in_process  # noqa: E402

TURNS = 15


def chains(batch, units, gates, steps, groups):
    """(run, flops): `steps` steps of the forward and backward chains over `groups` row
    groups of `batch` rows in one graph; `run()` returns the last states."""
    rng = np.random.default_rng(0)
    # Scaled so that values stay near 1 over the steps.
    weights = rng.normal(size=(units, gates * units)) / np.sqrt(gates * units)
    recurrent = tf.constant(weights.astype(np.float32))
    transposed = tf.constant((weights.T * np.sqrt(gates)).astype(np.float32))
    states = tf.split(tf.constant(rng.normal(size=(batch, units)).astype(np.float32)), groups)

    @tf.function
    def run():
        last = []
        for h in states:
            for _ in range(steps):
                h = tf.matmul(tf.matmul(h, recurrent), transposed)
            last.append(h)
        return last

    return run, 2 * steps * 2 * batch * units * gates * units


def rates(batch, units, gates, steps):
    """{form: [GFLOP/s of each turn]} of one pass and two groups, taking turns."""
    forms = {"one pass": chains(batch, units, gates, steps, 1), "two groups": chains(batch, units, gates, steps, 2)}
    for run, _ in forms.values():
        run()  # traced and warm
    seconds = {form: [] for form in forms}
    for turn in range(TURNS):
        for form in (list(forms) if turn % 2 == 0 else list(forms)[::-1]):
            run, _ = forms[form]
            start = time.perf_counter()
            [h.numpy() for h in run()]
            seconds[form].append(time.perf_counter() - start)
    return {form: [forms[form][1] / s / 1e9 for s in times] for form, times in seconds.items()}


def main(argv=None):
    keep_freed_memory_in_process()  # as the recipes do
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recurrent_matmuls",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--gates", type=int, default=4, help="gate blocks of U: LSTM 4, GRU 3, Elman 1")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--pool", choices=["one", "default"], default="one",
                        help="TensorFlow's intra-op pool: one thread, or TensorFlow's own")
    args = parser.parse_args(argv)
    if args.pool == "one":
        tf.config.threading.set_intra_op_parallelism_threads(1)
    print(f"TF {tf.__version__}; intra-op pool: {'one thread' if args.pool == 'one' else 'default'}; "
          f"batch {args.batch}, gates {args.gates}, {args.steps} steps each way; "
          f"GFLOP/s median (range) of {TURNS} turns")
    for units in args.units:
        measured = rates(args.batch, units, args.gates, args.steps)
        medians = {form: statistics.median(values) for form, values in measured.items()}
        print(f"units {units:5d}: " + ", ".join(
            f"{form} {medians[form]:.0f} ({min(values):.0f}-{max(values):.0f})" for form, values in measured.items())
            + f"; two groups / one pass {medians['two groups'] / medians['one pass']:.2f}")


if __name__ == "__main__":
    main()
