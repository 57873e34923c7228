"""The Neural Turing Machine's headline (Graves et al., 2014, section 4.1) measured: trained
to copy sequences of 1-20 8-bit vectors, how many bits does each cell get wrong on longer
sequences it never saw, against the LSTM, over seeds.

    python -m benchmarks.ntm_copy_lengths [--seeds 0 1 2] [--steps 2000] [--cells lstm ntm] [--units 100]

Every run is `recipes.long_range --task ntm_copy` with `--lengths 20,30,50,100`, the same
updates, batch (64 fresh sequences of one length drawn from 1-20) and units for both
cells (the NTM's memory 128 x 20, as in the paper); runs write into a temporary folder.
It prints one row per run (bits wrong per sequence at each length, wall seconds), then
the mean and standard deviation per cell, and per length the input-blind baseline (4 L).
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from recipes.long_range import TASK, LongRangeConfig, run_config  # noqa: E402
from zoo.data.synthetic import TASKS  # noqa: E402
from zoo.training.loop import train_and_evaluate  # noqa: E402

LENGTHS = "20,30,50,100"


def spread(values):
    """'mean (standard deviation)'."""
    deviation = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ({deviation:.1f})"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ntm_copy_lengths", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=2000, help="updates per run (default: %(default)s)")
    parser.add_argument("--cells", nargs="+", default=["lstm", "ntm"])
    parser.add_argument("--units", type=int, default=100, help="units of the LSTM and of the NTM's controller")
    parser.add_argument("--test-examples", type=int, default=512)
    arguments = parser.parse_args(argv)
    runs = {}
    with tempfile.TemporaryDirectory() as logdir:
        for seed in arguments.seeds:  # seeds outermost, so that a machine's drift spreads over both cells
            for cell in arguments.cells:
                base = LongRangeConfig(task="ntm_copy", cells=cell, lengths=LENGTHS, units=arguments.units,
                                       steps=arguments.steps, validate_every=arguments.steps,
                                       checkpoint_every=arguments.steps, test_examples=arguments.test_examples,
                                       seed=seed, logdir=logdir)
                started = time.perf_counter()
                result = train_and_evaluate(TASK, run_config(base, cell, None, logdir), show_progress=False)
                seconds = time.perf_counter() - started
                runs.setdefault(cell, []).append((result["test_errors"], seconds))
                errors = ", ".join(f"T {length} {error:.1f}" for length, error in result["test_errors"].items())
                print(f"{cell:>5} seed {seed}: bits wrong per sequence {errors}; {seconds:.0f} s", flush=True)
    lengths = [int(length) for length in LENGTHS.split(",")]
    print(f"\nbits wrong per sequence, mean (standard deviation) over seeds {', '.join(map(str, arguments.seeds))}; "
          f"{arguments.steps} updates of 64, {arguments.units} units")
    print("| cell | " + " | ".join(f"T = {length}" for length in lengths) + " | seconds |")
    print("| --- " * (len(lengths) + 2) + "|")
    print("| input-blind guess | " + " | ".join(f"{TASKS['ntm_copy'].baseline(n):.0f}" for n in lengths) + " | |")
    for cell, cell_runs in runs.items():
        seconds = [s for _, s in cell_runs]
        cells = [spread([errors[length] for errors, _ in cell_runs]) for length in lengths]
        print(f"| {cell} | " + " | ".join(cells) + f" | {statistics.mean(seconds):.0f} "
              f"({min(seconds):.0f}-{max(seconds):.0f}) |")


if __name__ == "__main__":
    main()
