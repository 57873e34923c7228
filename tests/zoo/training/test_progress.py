"""Progress output: plain lines where stdout is not a terminal (CI logs, `> log.txt`)."""

import io

from zoo.training.progress import LINES, Progress


def test_a_log_gets_a_plain_line_every_so_many_steps_and_at_the_end():
    log = io.StringIO()
    progress = Progress(1000, stream=log)
    for step in range(1, 1001):
        progress.update(step, [("loss", 2.0 / step), ("chars/s", 1234.5)])
    lines = log.getvalue().splitlines()
    assert len(lines) == LINES
    assert lines[0] == "step 50/1000: loss 0.04, chars/s 1234"
    assert lines[-1].startswith("step 1000/1000:")
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()


def test_an_odd_total_still_ends_with_its_last_step():
    log = io.StringIO()
    progress = Progress(7, stream=log)
    for step in range(1, 8):
        progress.update(step, [("loss", 1.0)])
    assert [line.split(":")[0] for line in log.getvalue().splitlines()] == [f"step {s}/7" for s in range(1, 8)]


def test_show_false_prints_nothing():
    log = io.StringIO()
    Progress(10, show=False, stream=log).update(10, [("loss", 1.0)])
    assert log.getvalue() == ""
