"""`python -m benchmarks.fit_throughput` runs its peers in turns and prints one row per
cell and size (a tiny configuration; the figures are in docs/own_model.md)."""

import pytest

from benchmarks.fit_throughput import main


@pytest.mark.slow  # 6 s of tracing for a check of the benchmark's own plumbing
def test_the_benchmark_prints_a_row_of_rates_and_ratios(capsys):
    main(["--cells", "elman", "--units", "8", "--steps", "1"])
    row = capsys.readouterr().out.splitlines()[-1].split()
    assert row[:2] == ["elman", "8"] and float(row[2]) > 0 and float(row[3]) > 0
    assert abs(float(row[5]) - float(row[2]) / float(row[3])) < 0.011
