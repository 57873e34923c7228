"""The recursive network's claim (Deep Learning book, 10.6) measured on ListOps: the
Tree-LSTM reading each expression's tree against the LSTM and the GRU reading its token
string, on the same data with the same budget, over seeds, with accuracy by depth.

    python -m benchmarks.listops_comparison [--seeds 0 1 2] [--steps 3000] [--models tree-lstm lstm gru]

Every run is `recipes.tree`'s default configuration (ListOps of `--data-seed 0`: 20,000
training expressions of depth 1-6, a deeper split of depth 7-10) with `--steps` updates,
its learning-rate schedule spanning them, and the model changed; runs write into a
temporary folder. It prints one row per run (test and deeper accuracy, test accuracy by
depth, wall seconds), then the mean and standard deviation per model.
"""

import argparse
import dataclasses
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from recipes.tree import TASK, TreeConfig  # noqa: E402
from zoo.training.loop import train_and_evaluate  # noqa: E402


def run(config):
    """({split: accuracy}, {split: {depth: accuracy}}, wall seconds) of one run."""
    started = time.perf_counter()
    result = train_and_evaluate(TASK, config, show_progress=False)
    splits = ("valid", "test", "deeper")
    return ({split: result[f"{split}/accuracy"] for split in splits},
            {split: result[f"{split}_accuracy_by_depth"] for split in ("test", "deeper")},
            time.perf_counter() - started)


def spread(values):
    """'mean (standard deviation)' in percent."""
    deviation = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} ({100 * deviation:.1f})"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.listops_comparison",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=TreeConfig().steps, help="updates per run (default: %(default)s)")
    parser.add_argument("--models", nargs="+", default=["tree-lstm", "lstm", "gru"])
    arguments = parser.parse_args(argv)
    runs = {}
    with tempfile.TemporaryDirectory() as logdir:
        for model in arguments.models:
            for seed in arguments.seeds:
                config = dataclasses.replace(TreeConfig(), model=model, seed=seed, steps=arguments.steps,
                                             validate_every=arguments.steps, checkpoint_every=arguments.steps,
                                             logdir=logdir)
                accuracy, by_depth, seconds = run(config)
                runs.setdefault(model, []).append((accuracy, by_depth, seconds))
                depths = " ".join(f"d{d} {100 * a:.1f}" for d, a in {**by_depth["test"], **by_depth["deeper"]}.items())
                scores = ", ".join(f"{split} {100 * value:.1f}" for split, value in accuracy.items())
                print(f"{model:>16} seed {seed}: {scores}; by depth {depths}; {seconds:.0f} s", flush=True)
    print(f"\nmean (standard deviation) over seeds {', '.join(map(str, arguments.seeds))}, in percent")
    depths = sorted({d for model_runs in runs.values() for _, by_depth, _ in model_runs
                     for split in by_depth.values() for d in split})
    print("| model | test | deeper | " + " | ".join(f"depth {d}" for d in depths) + " | seconds |")
    print("| --- " * (len(depths) + 4) + "|")
    for model, model_runs in runs.items():
        cells = [spread([a[split] for a, _, _ in model_runs]) for split in ("test", "deeper")]
        for depth in depths:
            values = [{**b["test"], **b["deeper"]}.get(depth) for _, b, _ in model_runs]
            values = [value for value in values if value is not None]
            cells.append(spread(values) if values else "")
        seconds = [s for _, _, s in model_runs]
        cells.append(f"{statistics.mean(seconds):.0f} ({min(seconds):.0f}-{max(seconds):.0f})")
        print(f"| {model} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
