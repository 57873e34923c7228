"""`benchmarks.char_lm_seeds` on the smoke configuration: it trains each seed through the
recipe, prints the figures and returns 0 within the bound (the default run's two-seed
check, about 10 minutes, is the benchmark's own business)."""

import pytest

from benchmarks.char_lm_seeds import main


# Two smoke runs, about 18 s: slow.
@pytest.mark.slow
def test_the_sweep_prints_every_seed_and_passes_within_its_bound(capsys):
    assert main(["--seeds", "0", "1", "--smoke"]) == 0
    out = capsys.readouterr().out
    assert "seed 0:" in out and "seed 1:" in out and "sd" in out
