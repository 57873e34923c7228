"""The schedule's thread pool: a core per row group (`zoo.fused.schedule.claim_core_per_group`).

TensorFlow's pools are fixed when it starts, once per process, so each check that sets one
runs in a fresh interpreter. `cpu_cores` is pinned to 2 there (the machines the rule was
measured on) so the checks read the same on a machine with more cores.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from zoo.fused import schedule


def run_fresh(script, **environment):
    """stdout of `script` in a fresh interpreter with `cpu_cores` pinned to 2."""
    env = {key: value for key, value in os.environ.items() if key != schedule.INTRA_OP_SETTING}
    prologue = ("import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport tensorflow as tf\n"
                "from zoo.fused import schedule\nschedule.cpu_cores = lambda: 2\n")
    result = subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(script)], capture_output=True,
                            text=True, timeout=120, env={**env, **environment})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()


def test_the_recipe_command_line_gives_each_row_group_a_core_where_every_pass_splits(tmp_path):
    """The pool stays TensorFlow's where a pass does not split (the smoke run: 8 rows, 32
    units) or recurrent work runs outside the fused passes (the flow penalty's probed cell
    loop, seq2seq's decoder); the default char_lm (64 streams of 256 units) splits, so it
    takes one intra-op thread, and TensorFlow runs with it."""
    script = f"""
    import recipes.char_lm as recipe
    import recipes.seq2seq
    from zoo.run.cli import config_from_command_line

    config_from_command_line(recipe.TASK, ["--smoke", "--logdir", {str(tmp_path)!r}], recipe.SMOKE, "")
    config_from_command_line(recipe.TASK, ["--flow-penalty", "0.1", "--logdir", {str(tmp_path)!r}], recipe.SMOKE, "")
    config_from_command_line(recipes.seq2seq.TASK, ["--logdir", {str(tmp_path)!r}], recipes.seq2seq.SMOKE, "")
    print(tf.config.threading.get_intra_op_parallelism_threads())
    config_from_command_line(recipe.TASK, ["--logdir", {str(tmp_path)!r}], recipe.SMOKE, "")
    tf.matmul(tf.ones([2, 2]), tf.ones([2, 2]))  # TensorFlow starts
    print(tf.config.threading.get_intra_op_parallelism_threads())
    """
    assert run_fresh(script) == ["0", "1"]  # 0: TensorFlow's default (one thread per core)


def test_the_pool_is_left_alone_where_the_passes_do_not_split_or_the_environment_sets_it():
    script = """
    units, rows = schedule.MIN_UNITS, 2 * schedule.MIN_ROWS
    print(schedule.claim_core_per_group("single", 64, units),
          schedule.claim_core_per_group("auto", rows - 1, units),
          schedule.claim_core_per_group("auto", 64, units - 1),
          schedule.claim_core_per_group("batch-split", 4, 8))  # splits whatever the shape
    tf.matmul(tf.ones([2, 2]), tf.ones([2, 2]))
    print(tf.config.threading.get_intra_op_parallelism_threads())
    """
    assert run_fresh(script) == ["None", "None", "None", "1", "1"]
    assert run_fresh("print(schedule.claim_core_per_group('auto', 64, 256))",
                     **{schedule.INTRA_OP_SETTING: "2"}) == ["None"]


def test_a_started_tensorflow_keeps_its_pool(monkeypatch):
    import tensorflow as tf

    tf.matmul(tf.ones([2, 2]), tf.ones([2, 2]))  # started (a pool of 0: one thread per core, or the
    monkeypatch.delenv(schedule.INTRA_OP_SETTING, raising=False)  # test worker's setting)
    monkeypatch.setattr(schedule, "cpu_cores", lambda: 2)
    assert schedule.claim_core_per_group("auto", 64, 256) is None


def test_more_cores_than_groups_and_unknown_schedules_leave_the_pool(monkeypatch):
    monkeypatch.setattr(schedule, "cpu_cores", lambda: 4)
    assert schedule.claim_core_per_group("auto", 64, 256) is None
    with pytest.raises(ValueError, match="schedule must be one of"):
        schedule.claim_core_per_group("wavefront", 64, 256)
