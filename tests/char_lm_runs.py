"""Helpers for tests that train the char_lm recipe through the shared core."""

from recipes.char_lm import SMOKE, TASK, CharLMConfig
from zoo.run.folders import load_config, restore_run
from zoo.training.loop import train_and_evaluate


def smoke_config(logdir, **changes):
    """The char_lm recipe's --smoke configuration, writing under `logdir`."""
    return CharLMConfig(**{**SMOKE, "logdir": str(logdir), **changes})


def train_char_lm(config, **options):
    """A new char_lm run of `config`; `train_and_evaluate`'s options."""
    return train_and_evaluate(TASK, config, show_progress=False, **options)


def resume_char_lm(run_dir, **options):
    """Continue an existing char_lm run from its newest checkpoint."""
    return train_and_evaluate(TASK, load_config(TASK, run_dir), run_dir, resume=True,
                              show_progress=False, **options)


def restore_model(run_dir):
    """(config, vocabulary, inference model with the newest checkpoint's weights)."""
    run = restore_run(run_dir)
    return run.config, run.assets, run.model
