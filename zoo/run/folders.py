"""Run folders: what a run is made of on disk, and how anything that reads one rebuilds it.

    RUN_DIR/
        config.json        every setting, and `"recipe"`: the module that holds the run's
                           task (e.g. "recipes.char_lm"), so resume, sampling and export
                           rebuild the model without guessing
        <assets>           what the task saves to rebuild its model (a vocabulary, say)
        checkpoints/       `zoo.training.checkpoints`
        events.out.*       TensorBoard

A new run folder is written complete or not at all: config and assets go into a hidden
folder beside it, which is renamed into place. Runs written before recipes were named
have no "recipe" and belong to `recipes.char_lm`, the only recipe there was.
"""

import dataclasses
import importlib
import json
import os
import pathlib
import shutil
import time
import uuid

from zoo.models.inference_twin import copy_weights
from zoo.run.errors import InputError, disk_full_error, is_disk_full
from zoo.training.checkpoints import restore_weights

CONFIG_FILE = "config.json"
RECIPE_KEY = "recipe"
RECIPE_OF_UNNAMED_RUNS = "recipes.char_lm"
# What may change when a run resumes: its length, the devices it runs on (the state is
# checkpointed in global order, so any replica count with the same global batch works) and
# the fused passes' schedule (the same function to float rounding).
RESUME_OVERRIDES = {"steps", "strategy", "devices", "schedule"}


def new_run_dir(logdir, name):
    """A fresh folder name under `logdir` after the time and `name` (`create_run` takes
    the next suffix if another process takes it first)."""
    logdir = pathlib.Path(logdir)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    run_dir, suffix = logdir / stem, 1
    while run_dir.exists():
        suffix += 1
        run_dir = logdir / f"{stem}-{suffix}"
    return run_dir


def config_record(config):
    """What a checkpoint records of the config it was written with (`zoo.training.checkpoints`):
    canonical JSON of every field but RESUME_OVERRIDES."""
    values = {name: value for name, value in dataclasses.asdict(config).items() if name not in RESUME_OVERRIDES}
    return json.dumps(values, sort_keys=True)


def create_run(run_dir, task, config, assets, retries=100):
    """Write `run_dir` with the config (naming the task's module) and the task's assets;
    returns the folder written: `run_dir`, or `run_dir-2`, ... when another process
    created it at the same instant."""
    run_dir = pathlib.Path(run_dir)
    if run_dir.exists():
        raise InputError(f"{run_dir}: the run folder already exists")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = run_dir.parent / f".partial-{uuid.uuid4().hex}"
    try:
        partial.mkdir()
        values = {RECIPE_KEY: task.module, **dataclasses.asdict(config)}
        (partial / CONFIG_FILE).write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
        task.save_assets(assets, partial)
        for attempt in range(1, retries + 1):
            target = run_dir if attempt == 1 else run_dir.with_name(f"{run_dir.name}-{attempt}")
            if not target.exists():
                try:
                    os.rename(partial, target)  # fails when target exists and is not empty
                    return target
                except OSError:
                    if not target.exists():
                        raise
        raise InputError(f"{run_dir}: {retries} run folders of this name exist; expected a free name")
    except OSError as error:
        if is_disk_full(error):
            raise disk_full_error(f"{run_dir.parent} (a new run folder)", "start the run again") from None
        raise
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)


def read_saved_config(run_dir, flag="--resume"):
    """The raw config.json of a run folder; InputError if it is not one."""
    run_dir = pathlib.Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{flag} {str(run_dir)!r}: no such run folder")
    path = run_dir / CONFIG_FILE
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise InputError(f"{path}: no config.json; expected a run folder") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a run's config.json ({error})") from error
    if not isinstance(values, dict):
        raise InputError(f"{path}: not a run's config.json (expected an object)")
    return values


def load_config(task, run_dir, flag="--resume"):
    """The run's config as the task's config class; InputError if it is another recipe's
    run or its config does not make one."""
    values = read_saved_config(run_dir, flag)
    recipe = values.pop(RECIPE_KEY, RECIPE_OF_UNNAMED_RUNS)
    path = pathlib.Path(run_dir) / CONFIG_FILE
    if recipe != task.module:
        raise InputError(f"{path}: a run of {recipe}, not of {task.module}")
    try:
        return task.config_class(**values)
    except TypeError as error:
        raise InputError(f"{path}: not a {task.config_class.__name__} ({error})") from error


def task_of(run_dir, flag="--from"):
    """The task of the recipe that wrote `run_dir`, by the module named in its config."""
    recipe = read_saved_config(run_dir, flag).get(RECIPE_KEY, RECIPE_OF_UNNAMED_RUNS)
    try:
        return importlib.import_module(recipe).TASK
    except (ImportError, AttributeError) as error:
        raise InputError(f"{pathlib.Path(run_dir) / CONFIG_FILE}: its recipe {recipe!r} is not an "
                         f"importable recipe module ({error})") from error


@dataclasses.dataclass(frozen=True)
class RestoredRun:
    """A run rebuilt from its folder, with its newest checkpoint's weights."""
    task: object
    config: object
    assets: object
    model: object  # the inference model (dropout 0)


def restore_run(run_dir, flag="--from"):
    """The run's task, config, assets and inference model with the newest checkpoint's
    weights, for sampling and export; works on finished and interrupted runs."""
    run_dir = pathlib.Path(run_dir)
    task = task_of(run_dir, flag)
    config = load_config(task, run_dir, flag)
    assets = task.load_assets(run_dir)
    model = task.build_model(config, assets)
    if not restore_weights(run_dir, model, config_record(config)):
        raise InputError(f"{run_dir}: the run has no checkpoint yet")
    inference = task.build_model(config, assets, inference=True)
    copy_weights(model, inference)
    return RestoredRun(task, config, assets, inference)
