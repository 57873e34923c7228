"""A real TensorBoard server on a free loopback port, for tests that read what it serves."""

import contextlib
import re
import subprocess
import sys
import time


@contextlib.contextmanager
def tensorboard(logdir, timeout=60):
    """Yields the server's base URL; stops the server afterwards."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir),
         "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url, deadline = None, time.monotonic() + timeout
        while url is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                break
            match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            url = match and match.group(1)
        assert url, "tensorboard printed no address"
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
