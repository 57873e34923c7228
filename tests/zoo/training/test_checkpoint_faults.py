"""Damaged checkpoints and edited configs, on a run of the toy recipe: every kind of
damage to the newest checkpoint falls back to the one before it, for `--resume` and for
export alike; what a kill during a write leaves is removed; a config.json edited after
the checkpoints were written is refused, naming the field."""

import dataclasses
import json
import shutil

import numpy as np
import pytest
import toy_recipe
from run_folders import checkpoint_steps

from export.saved_model import export_run
from zoo.run.errors import InputError
from zoo.run.folders import load_config, restore_run
from zoo.training.loop import train_and_evaluate


def toy_config(logdir, **changes):
    return toy_recipe.ToyConfig(**{**toy_recipe.SMOKE, "logdir": str(logdir), **changes})


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A finished toy run (checkpoints at steps 4, 8 and 12) and its final weights."""
    result = train_and_evaluate(toy_recipe.TASK, toy_config(tmp_path_factory.mktemp("toy")), show_progress=False)
    return result["run_dir"]


def copy_of(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy


def newest(run):
    return run / "checkpoints" / f"ckpt-{max(checkpoint_steps(run))}"


def truncate_index(run):
    index = newest(run).with_suffix(".index")
    index.write_bytes(index.read_bytes()[:20])


def delete_data(run):
    next(newest(run).parent.glob(f"{newest(run).name}.data-*")).unlink()


def flip_data_bits(run):
    data = next(newest(run).parent.glob(f"{newest(run).name}.data-*"))
    raw = bytearray(data.read_bytes())
    for position in range(0, len(raw), 7):
        raw[position] ^= 0xFF
    data.write_bytes(bytes(raw))


def truncate_data(run):
    data = next(newest(run).parent.glob(f"{newest(run).name}.data-*"))
    data.write_bytes(data.read_bytes()[:50])


def empty_state_file(run):
    (run / "checkpoints" / "checkpoint").write_text("")


DAMAGE = {"truncated index": truncate_index, "missing data file": delete_data, "bit-flipped data": flip_data_bits,
          "truncated data": truncate_data}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_newest_checkpoint_falls_back_for_export_and_resume(damage, toy_run, tmp_path, capsys):
    run = copy_of(toy_run, tmp_path)
    DAMAGE[damage](run)
    restored = restore_run(run)  # export's reading
    assert restored.model is not None
    assert "ckpt-12 is unreadable" in capsys.readouterr().err
    config = load_config(toy_recipe.TASK, run)
    result = train_and_evaluate(toy_recipe.TASK, config, run, resume=True, show_progress=False)
    assert result["steps"] == 12 and "resumed from" in capsys.readouterr().out


def test_an_empty_state_file_loses_no_checkpoint(toy_run, tmp_path, capsys):
    run = copy_of(toy_run, tmp_path)
    empty_state_file(run)
    weights = [w.numpy() for w in restore_run(toy_run).model.weights]
    for restored, expected in zip(restore_run(run).model.weights, weights):
        np.testing.assert_array_equal(restored.numpy(), expected)  # the newest, ckpt-12
    config = dataclasses.replace(load_config(toy_recipe.TASK, run), steps=16)
    result = train_and_evaluate(toy_recipe.TASK, config, run, resume=True, show_progress=False)
    assert result["steps"] == 16 and "(resumed from" in capsys.readouterr().out
    assert checkpoint_steps(run)[-1] == 16


def test_every_checkpoint_damaged_is_one_line(toy_run, tmp_path):
    run = copy_of(toy_run, tmp_path)
    for index in (run / "checkpoints").glob("*.index"):
        index.write_bytes(b"")
    with pytest.raises(InputError, match="no readable checkpoint among 3"):
        restore_run(run)


def test_what_a_kill_during_a_write_leaves_is_removed_on_resume(toy_run, tmp_path):
    run = copy_of(toy_run, tmp_path)
    # A save writes into ckpt-N_temp, then moves its files into place: a SIGKILL between
    # the two leaves the folder (10-13 MB for the default char_lm).
    leftover = run / "checkpoints" / "ckpt-16_temp"
    leftover.mkdir()
    (leftover / "part-00000-of-00001.data-00000-of-00001.tempstate123").write_bytes(b"\0" * 4096)
    config = dataclasses.replace(load_config(toy_recipe.TASK, run), steps=16)
    train_and_evaluate(toy_recipe.TASK, config, run, resume=True, show_progress=False)
    assert not leftover.exists()
    assert not list((run / "checkpoints").glob("*_temp"))


@pytest.mark.parametrize("field,value", [("units", 24), ("lr", 0.01), ("clip_norm", 0.5), ("seed", 3),
                                         ("examples", 256)])
def test_a_config_edited_after_the_checkpoints_is_refused_naming_the_field(field, value, toy_run, tmp_path):
    run = copy_of(toy_run, tmp_path)
    values = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**values, field: value}))
    config = load_config(toy_recipe.TASK, run)
    with pytest.raises(InputError, match=f"config.json: {field} is {value!r}, but .*ckpt-12 was written with"):
        train_and_evaluate(toy_recipe.TASK, config, run, resume=True, show_progress=False)
    with pytest.raises(InputError, match=f"config.json: {field} is {value!r}"):
        export_run(run, tmp_path / "export")
    assert not (tmp_path / "export" / "toy").exists()


def test_what_resume_may_change_is_not_recorded(toy_run, tmp_path):
    run = copy_of(toy_run, tmp_path)
    changed = dataclasses.replace(load_config(toy_recipe.TASK, run), steps=14, devices=3)
    assert train_and_evaluate(toy_recipe.TASK, changed, run, resume=True, show_progress=False)["steps"] == 14
