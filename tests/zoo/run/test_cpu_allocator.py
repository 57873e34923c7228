"""The BFC allocator on the CPU: on where the job asks for it, off where the environment says.

TensorFlow reports allocator statistics for its CPU device only when a pooling allocator
serves it (malloc keeps none), which tells the two apart from outside. Where TensorFlow
turns oneDNN on by default (CPUs with AVX-512), its CPU allocator pools whatever the
project asks (`zoo.run.cpu_allocator`); the checks that see the project's choice therefore
run with `TF_ENABLE_ONEDNN_OPTS=0`, which gives malloc by default on every machine, so
they pass on machines with and without AVX-512.
"""

import os
import subprocess
import sys

import pytest

from zoo.run.cpu_allocator import SETTING, keep_freed_memory_in_process

REPORT = """
import tensorflow as tf
tf.reduce_sum(tf.ones([1000, 1000])).numpy()
try:
    print("peak", tf.config.experimental.get_memory_info("CPU:0")["peak"])
except ValueError:
    print("malloc")
"""
NO_ONEDNN = {"TF_ENABLE_ONEDNN_OPTS": "0"}


def run(script, tmp_path, **environment):
    inherited = {k: v for k, v in os.environ.items() if k not in (SETTING, *NO_ONEDNN)}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env={**inherited, **environment})
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def recipe_then_report(tmp_path):
    # Importing the recipe imports TensorFlow, Keras, the zoo and the exporter: none of
    # them allocates, so main() still chooses the allocator.
    return ("from recipes.char_lm import main\n"
            f"main(['--smoke', '--steps', '2', '--logdir', {str(tmp_path / 'runs')!r}])\n" + REPORT)


def test_the_setting_is_a_default_the_environment_can_override(monkeypatch):
    monkeypatch.delenv(SETTING, raising=False)
    keep_freed_memory_in_process()
    assert os.environ[SETTING] == "true"
    monkeypatch.setenv(SETTING, "false")
    keep_freed_memory_in_process()
    assert os.environ[SETTING] == "false"


# Fresh processes, 10-26 s: slow (CI runs it after the default suite).
@pytest.mark.slow
def test_the_recipe_trains_with_bfc_where_tensorflow_alone_would_use_malloc(tmp_path):
    assert run(REPORT, tmp_path, **NO_ONEDNN) == ["malloc"]
    output = run(recipe_then_report(tmp_path), tmp_path, **NO_ONEDNN)
    assert output[-2] == "peak" and int(output[-1]) >= 4e6  # at least the 1000 x 1000 floats


@pytest.mark.slow  # fresh interpreters, about 8 s
def test_the_environment_decides_over_the_recipe(tmp_path):
    assert run(recipe_then_report(tmp_path), tmp_path, **NO_ONEDNN, **{SETTING: "false"})[-1] == "malloc"
