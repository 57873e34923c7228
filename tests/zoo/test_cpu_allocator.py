"""The BFC allocator on the CPU: on where the job asks for it, off where the environment says.

TensorFlow reports allocator statistics for its CPU device only when the BFC allocator
serves it (malloc keeps none), which tells the two apart from outside.
"""

import os
import subprocess
import sys

from zoo.cpu_allocator import SETTING

REPORT = """
import tensorflow as tf
tf.reduce_sum(tf.ones([1000, 1000])).numpy()
try:
    print("peak", tf.config.experimental.get_memory_info("CPU:0")["peak"])
except ValueError:
    print("malloc")
"""


def run(script, tmp_path, **environment):
    inherited = {k: v for k, v in os.environ.items() if k != SETTING}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env={**inherited, **environment})
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_tensorflow_alone_keeps_malloc(tmp_path):
    assert run(REPORT, tmp_path) == ["malloc"]


def test_the_environment_decides(tmp_path):
    script = "from zoo.cpu_allocator import keep_freed_memory_in_process\nkeep_freed_memory_in_process()\n" + REPORT
    assert run(script, tmp_path, **{SETTING: "false"}) == ["malloc"]


def test_the_recipe_trains_with_bfc(tmp_path):
    # Importing the recipe imports TensorFlow, Keras, the zoo and the exporter: none of
    # them allocates, so main() still chooses the allocator.
    script = ("from recipes.char_lm import main\n"
              f"main(['--smoke', '--steps', '2', '--logdir', {str(tmp_path / 'runs')!r}])\n" + REPORT)
    output = run(script, tmp_path)
    assert output[-2] == "peak" and int(output[-1]) >= 4e6  # at least the 1000 x 1000 floats
