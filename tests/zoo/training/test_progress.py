"""Progress output: plain lines where stdout is not a terminal (CI logs, `> log.txt`)."""

import io

from zoo.training.progress import LINES, Progress, readable


def test_a_log_gets_a_plain_line_every_so_many_steps_and_at_the_end():
    log = io.StringIO()
    progress = Progress(1000, stream=log)
    for step in range(1, 1001):
        progress.update(step, [("loss", 2.0 / step), ("chars/s", 1234.5)])
    lines = log.getvalue().splitlines()
    assert len(lines) == LINES
    assert lines[0] == "step 50/1000: loss 0.04, 1.2k chars/s"
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


def test_rates_read_as_people_read_them():
    assert [readable("chars/s", rate) for rate in (44137.87, 950.2, 1.5e6)] == [
        "44.1k chars/s", "950 chars/s", "1.5M chars/s"]
    assert readable("loss", 1.23456) == "loss 1.235"


def test_a_terminal_gets_one_line_rewritten_in_place():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    progress = Progress(4, stream=screen)
    for step in range(1, 5):
        progress.update(step, [("loss", 1.0), ("chars/s", 2500.0)])
    assert screen.getvalue().count("\r") == 4 and screen.getvalue().endswith("loss 1, 2.5k chars/s\x1b[K\n")
