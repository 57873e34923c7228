"""A full disk, made with a small tmpfs in a private mount namespace (`unshare -m`): at
every point where the run writes (its folder, its events, a checkpoint, the export) the
job stops in one line with exit status 2, saying how to go on, and leaves no
half-written checkpoint or folder behind."""

import subprocess
import sys

import pytest

MOUNT = "/tmp/zoo-full-disk"


def namespaces_work():
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True)
    return probe.returncode == 0


def run_on_small_disks(logdir_size, export_size=None):
    """(exit status, output, leftovers) of the char_lm smoke job whose --logdir (and
    --export-dir, when `export_size` is given) is a tmpfs of that size."""
    export = f" && mkdir -p {MOUNT}/export && mount -t tmpfs -o size={export_size} tmpfs {MOUNT}/export" \
        if export_size else ""
    flags = f"--logdir {MOUNT}/runs" + (f" --export-dir {MOUNT}/export" if export_size else "")
    # timeout -k: the recipe turns SIGTERM into a clean stop, so a hung job is then killed.
    script = (f"mkdir -p {MOUNT} && mount -t tmpfs -o size={logdir_size} tmpfs {MOUNT}{export} && "
              f"timeout -k 10 300 {sys.executable} -m recipes.char_lm --smoke {flags} > {MOUNT}.out 2>&1; "
              f"echo status=$?; cat {MOUNT}.out; echo leftovers:; "
              f"find {MOUNT} -name '*_temp' -o -name '.partial-*' -o -name 'tmp*'")
    result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                            capture_output=True, text=True, timeout=400)
    head, _, leftovers = result.stdout.partition("leftovers:")
    status, _, output = head.partition("\n")
    return int(status.split("=")[1]), output, leftovers.split()


@pytest.mark.slow  # one process per case, about 15 s each
@pytest.mark.skipif(not namespaces_work(), reason="needs `unshare -m` (root or user namespaces)")
@pytest.mark.parametrize("logdir_size,export_size,where", [
    ("4k", None, "a new run folder"),
    ("12k", None, "its TensorBoard events"),
    ("100k", None, "checkpoint of step 10"),
    ("400k", None, "checkpoint of step"),
    ("4m", "64k", "the export of"),
])
def test_a_full_disk_stops_the_job_in_one_line(logdir_size, export_size, where):
    status, output, leftovers = run_on_small_disks(logdir_size, export_size)
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert status == 2, output[-3000:]
    assert "Traceback" not in output
    assert len(errors) == 1 and "no space left on the device" in errors[0] and where in errors[0], errors
    assert ("python -m recipes.char_lm --resume" in errors[0] or "start the run again" in errors[0]
            or "python -m export --from" in errors[0])
    assert leftovers == []


@pytest.mark.slow  # one process, about 10 s
@pytest.mark.skipif(not namespaces_work(), reason="needs `unshare -m` (root or user namespaces)")
def test_a_logdir_on_a_read_only_file_system_is_refused_before_training():
    script = (f"mkdir -p {MOUNT} && mount -t tmpfs -o size=1m,ro tmpfs {MOUNT} && "
              f"timeout -k 10 300 {sys.executable} -m recipes.char_lm --smoke --logdir {MOUNT}/runs; echo status=$?")
    result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                            capture_output=True, text=True, timeout=400)
    assert result.stdout.strip().endswith("status=2"), result.stdout[-2000:] + result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot write in" in errors[0] and "Read-only file system" in errors[0], errors
    assert "step 1/" not in result.stdout  # refused before any training
