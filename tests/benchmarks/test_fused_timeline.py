import json

from benchmarks import fused_timeline


def test_concurrency_counts_the_time_each_number_of_ops_ran_at_once():
    # 0-5 one op, 5-10 two, 10-15 one, 15-20 none, 20-22 four (read as 3+).
    spans = [(0, 10, "A"), (5, 15, "B"), (20, 22, "C"), (20, 22, "C"), (20, 22, "C"), (20, 22, "D")]
    assert fused_timeline.concurrency(spans) == [5, 10, 5, 2]


def test_the_timeline_runs_every_schedule_and_writes_chrome_traces(tmp_path, capsys):
    fused_timeline.main(["--cell", "elman", "--units", "8", "--layers", "1", "--schedules", "single",
                         "batch-split", "--trace-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "single: span" in out and "batch-split: span" in out and "MatMul" in out
    for schedule in ("single", "batch-split"):
        events = json.loads((tmp_path / f"elman_1x8_{schedule}.json").read_text())["traceEvents"]
        # One pass: a recurrent matmul per step forward and one backward, then the three
        # post-loop matmuls (input and weight gradients). The split runs two such passes.
        matmuls = [e for e in events if e.get("ph") == "X" and "MatMul" in e["args"]["op"]]
        passes = {"single": 1, "batch-split": 2}[schedule]
        assert len(matmuls) == passes * (2 * fused_timeline.TIME + 3)
