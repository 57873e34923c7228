"""The zoo's default char_lm against the same recipe in PyTorch, trained for the same
wall-clock time, in one invocation; prints both validation figures.

    python -m benchmarks.same_time [--seconds 240] [--seed 0]

Both peers train the recipe's default configuration (`recipes.char_lm.CharLMConfig`) on
its default corpus and split: the zoo through the recipe's own task, model, optimizer
and TBPTT update rule, PyTorch through `benchmarks.torch_char_lm`. Each first times a
short throwaway run (its first update, which holds the zoo's graph tracing, and the
median of the next ten) and plans as many updates as fit in `--seconds`; its learning
rate schedule spans those updates, as the recipe's spans `--steps`. Then it trains from
fresh weights until the plan is done or the time is up, and is scored on the validation
streams as the recipe scores them. The clock runs from the model's construction to the
last update; data preparation and validation are outside it. Summaries and checkpoints
are not written (PyTorch writes none either). The peers run one after the other, so a
machine whose speed drifts favours one of them: repeat it.
"""

import argparse
import dataclasses
import math
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from benchmarks.torch_char_lm import TorchCharLM, corpus_streams, train_for  # noqa: E402
from recipes.char_lm import TASK, CharLMConfig  # noqa: E402
from zoo.data import tbptt_windows as zoo_windows  # noqa: E402
from zoo.evaluation.stream_loss import StreamLoss  # noqa: E402
from zoo.models.inference_twin import copy_weights  # noqa: E402
from zoo.run.cpu_allocator import keep_freed_memory_in_process  # noqa: E402
from zoo.training.loop import build_optimizer  # noqa: E402

LN2 = math.log(2.0)
TIMED_STEPS = 10  # after the first, to plan a run


def plan(first, steps, seconds):
    """Updates that fit in `seconds`: the first one, then the median step time."""
    return max(1, 1 + int((seconds - first) / statistics.median(steps)))


class ZooPeer:
    name = "zoo"

    def __init__(self, config, data):
        self.config, self.data = config, data

    def run(self, steps, seconds):
        """(updates, seconds, per-update seconds of each update) of a fresh run."""
        config = dataclasses.replace(self.config, steps=steps)
        keras.utils.set_random_seed(config.seed)
        started = time.perf_counter()
        model = TASK.build_model(config, self.data.assets)
        rule = TASK.update_rule(config, model, build_optimizer(config), self.data)
        times, updates = [], 0
        while updates < steps and time.perf_counter() - started < seconds:
            for batch in rule.batches():
                before = time.perf_counter()
                float(rule.train_step(*batch)["loss"])
                times.append(time.perf_counter() - before)
                updates += 1
                if updates >= steps or time.perf_counter() - started >= seconds:
                    break
        self.model = model
        return updates, time.perf_counter() - started, times

    def validation_bits(self):
        inference = TASK.build_model(self.config, self.data.assets, inference=True)
        copy_weights(self.model, inference)
        streams, k1 = self.data.valid_streams, self.config.k1
        return StreamLoss(inference)(zoo_windows(streams, k1, k1), streams.shape[0]) / LN2


class TorchPeer:
    name = "pytorch"

    def __init__(self, config):
        self.config = config
        self.vocab_size, self.train_streams, self.valid_streams = corpus_streams(config)

    def run(self, steps, seconds):
        config = dataclasses.replace(self.config, steps=steps)
        started = time.perf_counter()
        self.trainer = TorchCharLM(config, self.vocab_size)
        updates, _, times = train_for(self.trainer, self.train_streams, steps,
                                      seconds - (time.perf_counter() - started))
        return updates, time.perf_counter() - started, times

    def validation_bits(self):
        return self.trainer.validation_loss(self.valid_streams) / LN2


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.same_time", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=240.0,
                        help="wall-clock budget of each peer (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    keep_freed_memory_in_process()  # as the recipe's command line does
    import torch

    config = CharLMConfig(seed=arguments.seed)
    peers = [ZooPeer(config, TASK.prepare(config)), TorchPeer(config)]
    print(f"char_lm default ({config.cell} {config.layers}x{config.units}, batch {config.batch_size} "
          f"x {config.k1}), {arguments.seconds:.0f} s each, seed {config.seed}, TensorFlow "
          f"{__import__('tensorflow').__version__}, PyTorch {torch.__version__}, {os.cpu_count()} CPUs")
    rows = []
    for peer in peers:
        _, _, times = peer.run(1 + TIMED_STEPS, math.inf)
        planned = plan(times[0], times[1:], arguments.seconds)
        updates, seconds, times = peer.run(planned, arguments.seconds)
        bits = peer.validation_bits()
        rows.append((peer.name, planned, updates, seconds, bits))
        print(f"{peer.name:8} planned {planned:5d} updates, made {updates:5d} in {seconds:6.1f} s "
              f"({updates * config.batch_size * config.k1 / seconds:6.0f} chars/s; update seconds: "
              f"first {times[0]:.2f}, median {statistics.median(times[1:]):.3f}, "
              f"slowest {max(times[1:]):.2f}): validation {bits:.3f} bits per character", flush=True)
    (_, _, zoo_updates, _, zoo_bits), (_, _, torch_updates, _, torch_bits) = rows
    print(f"zoo - pytorch: {zoo_bits - torch_bits:+.3f} bits per character; "
          f"updates zoo / pytorch: {zoo_updates / torch_updates:.2f}")


if __name__ == "__main__":
    main()
