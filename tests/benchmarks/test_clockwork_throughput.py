"""The Clockwork benchmark runs both peers on the same batches and prints a table row."""

import re

from benchmarks import clockwork_throughput


def test_a_tiny_run_prints_a_row_with_a_ratio(capsys):
    clockwork_throughput.main(["--units", "8", "--lengths", "4", "--steps", "1", "--blocks", "1"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 8 | 4 |")]
    assert len(rows) == 1 and re.search(r"\| \d+\.\d\dx \(", rows[0])
