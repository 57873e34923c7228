"""A console a newcomer can read: TensorFlow's C++ start-up lines only when asked.

At import, TensorFlow 2.21 prints, from C++ and whatever TF_CPP_MIN_LOG_LEVEL says for
some of them (the oneDNN notice is logged before TensorFlow's own log setting applies):

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 ... port.cc:153] oneDNN custom operations are on. ...      (where oneDNN is on)
    I0000 ... cpu_feature_guard.cc:227] This TensorFlow binary is optimized ...
    To enable the following instructions: AVX2 FMA, in other operations, rebuild ...

The command-line entry points (`python -m recipes.NAME`, `python -m zoo.sample`,
`python -m export`) call `quiet_start_up` before TensorFlow loads; `--verbose` keeps
everything. A library import of the zoo never calls it, so users keep their settings.
"""

import contextlib
import os
import sys
import tempfile

START_UP_LINES = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on",
                  "cpu_feature_guard.cc", "To enable the following instructions:")


def started_from_command_line():
    """True while Python locates the module of `python -m MODULE` (argv[0] is "-m" then, and
    only then), without --verbose."""
    return sys.argv[:1] == ["-m"] and "--verbose" not in sys.argv


@contextlib.contextmanager
def captured_native_stderr():
    """Within this context, what C++ libraries and Python write to file descriptor 2 goes
    to a buffer instead; yields a list that holds the captured lines once it exits."""
    lines = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines.extend(captured.read().decode(errors="replace").splitlines(keepends=True))


def quiet_start_up():
    """Import TensorFlow with its C++ log level at 2 (warnings and info hidden, errors
    shown) and its start-up lines dropped; every other line it prints is passed on."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    lines = []
    try:
        with captured_native_stderr() as lines:
            import tensorflow  # noqa: F401  (its C++ libraries log here, into `lines`)
    finally:  # a failed import's own messages are shown too
        for line in lines:
            if not any(marker in line for marker in START_UP_LINES):
                sys.stderr.write(line)
        sys.stderr.flush()
