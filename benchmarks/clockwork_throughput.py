"""Clockwork RNN training throughput, sequence steps per second: `recipes.long_range`'s
adding model on the Clockwork cell's fused pass (`zoo.fused.clockwork`, on the `auto`
schedule) against the same model on the cell loop (`fused=False`), in one invocation, the peers taking turns
(`benchmarks.peers.interleaved_seconds`).

    python -m benchmarks.clockwork_throughput [--units 64 256] [--lengths 30 100] [--steps 10]

Both train on the same adding-problem batches (64 sequences, 2 features,
`zoo.data.synthetic`), periods 1, 2, 4, 8, the readout on the last output, mean squared
error, Adam, through `GeneratedBatchRule`. Neither peer has a PyTorch or Keras twin.
"""

import argparse
import statistics

import numpy as np
import tensorflow as tf

from benchmarks.peers import interleaved_seconds, on_schedule
from recipes.long_range import batch_loss
from zoo.data.synthetic import TASKS
from zoo.models.long_range import build_long_range_model
from zoo.training.minibatch import GeneratedBatchRule

BATCH, BATCHES = 64, 4


def trainer(units, length, fused):
    """One training update of the adding model as `step(n)`, on batch `n % BATCHES`."""
    batches = [TASKS["adding"].generate(np.random.default_rng([0, k]), BATCH, length) for k in range(BATCHES)]
    model = build_long_range_model(2, 1, "clockwork", units, 1, per_step=False, fused=fused)
    rule = GeneratedBatchRule(model, tf.keras.optimizers.Adam(1e-3), batch_loss(TASKS["adding"]),
                              lambda k: batches[k % BATCHES], BATCH)
    tensors = [tuple(tf.constant(a) for a in batch) for batch in batches]

    def step(n):
        float(rule.train_step(*tensors[n % BATCHES])["loss"])  # reading the loss waits for the update

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.clockwork_throughput",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--units", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--lengths", nargs="+", type=int, default=[30, 100])
    parser.add_argument("--steps", type=int, default=10, help="timed updates per peer and block")
    parser.add_argument("--blocks", type=int, default=3, help="blocks of turns; the table gives their median")
    arguments = parser.parse_args(argv)
    print(f"TF {tf.__version__}; sequence steps per second, median over {arguments.blocks} blocks (range)")
    print("| units | T | fused pass | cell loop | fused / loop |\n| ---: | ---: | --- | --- | --- |")
    for units in arguments.units:
        for length in arguments.lengths:
            peers = {"fused": on_schedule("auto", trainer(units, length, True)), "loop": trainer(units, length, False)}
            blocks = [interleaved_seconds(peers, arguments.steps) for _ in range(arguments.blocks)]
            work = BATCH * length
            rate = {name: [work / block[name] for block in blocks] for name in peers}
            text = {name: f"{statistics.median(r):,.0f} ({min(r):,.0f}-{max(r):,.0f})" for name, r in rate.items()}
            ratios = [block["loop"] / block["fused"] for block in blocks]
            print(f"| {units} | {length} | {text['fused']} | {text['loop']} | {statistics.median(ratios):.2f}x "
                  f"({min(ratios):.2f}-{max(ratios):.2f}) |", flush=True)


if __name__ == "__main__":
    main()
