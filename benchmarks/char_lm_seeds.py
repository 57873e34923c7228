"""The default char_lm run on several seeds, against a bound on validation bits per
character: the check that the default configuration trains as well as the same recipe in
PyTorch (1.64 bits per character), on every seed rather than on a lucky one.

    python -m benchmarks.char_lm_seeds [--seeds 0 1] [--bound 1.66] [--smoke]

Each seed trains the recipe's default configuration (`recipes.char_lm.CharLMConfig`) on
its default corpus through the shared core, as `python -m recipes.char_lm --seed N`
does, in a temporary folder. It prints each seed's validation figure, the spread, and
exits with status 1 when any seed is above `--bound`. About 5 minutes per seed on a
2-core CPU. `--smoke` trains the recipe's smoke configuration instead (seconds), to
check the plumbing; its bound is the uniform distribution's bits.
"""

import argparse
import math
import os
import statistics
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from recipes.char_lm import SMOKE, TASK, CharLMConfig  # noqa: E402
from zoo.training.loop import train_and_evaluate  # noqa: E402

# The same recipe in PyTorch (benchmarks.torch_char_lm), default configuration, seed 0.
PYTORCH_BITS_PER_CHAR = 1.64


def seed_figures(seeds, smoke=False):
    """Validation bits per character of the default (or smoke) run for each of `seeds`."""
    figures = []
    with tempfile.TemporaryDirectory() as logdir:
        for seed in seeds:
            changes = dict(SMOKE) if smoke else {}
            config = CharLMConfig(**{**changes, "seed": seed, "logdir": logdir, "sample_length": 20})
            result = train_and_evaluate(TASK, config, show_progress=False)
            figures.append(result["valid/bits_per_char"])
            print(f"seed {seed}: {figures[-1]:.3f} bits per character", flush=True)
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--bound", type=float, default=1.66, help="largest acceptable figure per seed")
    parser.add_argument("--smoke", action="store_true", help="the smoke configuration (seconds)")
    args = parser.parse_args(argv)
    figures = seed_figures(args.seeds, args.smoke)
    bound = math.log2(100) if args.smoke else args.bound
    spread = f", sd {statistics.stdev(figures):.3f}" if len(figures) > 1 else ""
    print(f"mean {statistics.mean(figures):.3f}{spread}, range {min(figures):.3f}-{max(figures):.3f}; "
          f"bound {bound:.2f}; the PyTorch recipe: {PYTORCH_BITS_PER_CHAR}")
    if max(figures) > bound:
        print(f"seed {args.seeds[figures.index(max(figures))]} is above the bound", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
