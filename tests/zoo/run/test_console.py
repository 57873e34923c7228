"""What a newcomer's console shows: TensorFlow's C++ start-up lines only with --verbose
(with oneDNN on or off), and a library import that leaves the user's logging settings
alone."""

import os
import subprocess
import sys

import pytest

from zoo.run.console import START_UP_LINES


def run(*arguments):
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, env=environment,
                          timeout=120)


# Each entry point is a fresh process (about 10 s with its --verbose twin): zoo.sample is slow.
@pytest.mark.parametrize("entry_point", ["recipes.char_lm", pytest.param("zoo.sample", marks=pytest.mark.slow)])
def test_the_start_up_lines_show_only_when_asked(entry_point):
    quiet, verbose = run("-m", entry_point, "--help"), run("-m", entry_point, "--help", "--verbose")
    assert quiet.returncode == verbose.returncode == 0
    assert quiet.stdout.startswith(f"usage: python -m {entry_point}")
    # Machines with and without oneDNN on by default differ in these lines; none shows.
    assert not [line for line in quiet.stderr.splitlines() if any(m in line for m in START_UP_LINES)]
    assert "absl::InitializeLog" in verbose.stderr


@pytest.mark.slow
def test_importing_the_zoo_leaves_the_log_level_as_tensorflow_does():
    show = "; print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    zoo, tensorflow = run("-c", "import os, zoo, recipes.char_lm" + show), run("-c", "import os, tensorflow" + show)
    assert zoo.returncode == tensorflow.returncode == 0 and zoo.stdout == tensorflow.stdout
    assert "absl::InitializeLog" in zoo.stderr
