"""The Deep Learning book's claim that the future context helps (10.3), measured: the
tagger bidirectional and forward-only, with the LSTM, the GRU and the Elman cell, on
the same data with the same budget, over seeds; beside the majority-label and
word-identity baselines.

    python -m benchmarks.tag_comparison [--seeds 0 1 2] [--steps 500] [--cells lstm gru elman]

Every run is `recipes.tag`'s default configuration (punctuation and case restoration on
the built-in corpus, one data split: `--data-seed 0`) with `--steps` updates, its
learning-rate schedule spanning them, and the cell and direction changed; runs write into
a temporary folder. It prints one row per run (test macro-F1 and micro-F1 per column,
wall seconds), then the mean and standard deviation per model, then the baselines.
"""

import argparse
import dataclasses
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from recipes.tag import TASK, TagConfig  # noqa: E402
from zoo.training.loop import train_and_evaluate  # noqa: E402

COLUMNS = ("case", "punctuation")


def run(config):
    """(test scores by column, the baselines' scores, wall seconds) of one run."""
    started = time.perf_counter()
    result = train_and_evaluate(TASK, config, show_progress=False)
    return ({column: result[f"test_scores/{column}"] for column in COLUMNS}, result["baselines"],
            time.perf_counter() - started)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tag_comparison", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=500, help="updates per run (default: %(default)s)")
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "elman"])
    arguments = parser.parse_args(argv)
    rows, baselines = {}, None
    print(f"{'cell':>6} {'directions':>10} {'seed':>4} " + " ".join(f"{c + ' macro':>17} {c + ' micro':>17}"
                                                                    for c in COLUMNS) + f" {'seconds':>8}")
    with tempfile.TemporaryDirectory() as logdir:
        for cell in arguments.cells:
            for bidirectional in (True, False):
                for seed in arguments.seeds:
                    config = dataclasses.replace(TagConfig(), cell=cell, bidirectional=bidirectional, seed=seed,
                                                 steps=arguments.steps, validate_every=arguments.steps,
                                                 checkpoint_every=arguments.steps, logdir=logdir)
                    scores, baselines, seconds = run(config)
                    key = (cell, "both" if bidirectional else "forward")
                    rows.setdefault(key, []).append(scores)
                    print(f"{cell:>6} {key[1]:>10} {seed:>4} " + " ".join(
                        f"{scores[c]['macro_f1']:17.4f} {scores[c]['micro_f1']:17.4f}" for c in COLUMNS)
                        + f" {seconds:8.0f}", flush=True)
    print("\nmean (standard deviation) over seeds " + ", ".join(map(str, arguments.seeds)))
    for (cell, directions), runs in rows.items():
        cells = []
        for column in COLUMNS:
            for key in ("macro_f1", "micro_f1"):
                values = [r[column][key] for r in runs]
                spread = statistics.stdev(values) if len(values) > 1 else 0.0
                cells.append(f"{column} {key} {statistics.mean(values):.4f} ({spread:.4f})")
        print(f"{cell:>6} {directions:>10}: " + ", ".join(cells))
    for name, scores in baselines.items():
        print(f"baseline {name}: " + ", ".join(f"{column} macro_f1 {scores[column]['macro_f1']:.4f} micro_f1 "
                                              f"{scores[column]['micro_f1']:.4f}" for column in COLUMNS))


if __name__ == "__main__":
    main()
