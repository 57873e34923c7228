"""Quiet TensorFlow's start-up logs and give every test a fresh Keras session."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_keras_session():
    keras.utils.clear_session()
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


def smoke_config(logdir, **changes):
    """The char_lm recipe's --smoke configuration, writing under `logdir`."""
    from recipes.char_lm import SMOKE, CharLMConfig

    return CharLMConfig(**{**SMOKE, "logdir": str(logdir), **changes})


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One finished smoke training run (30 steps, validated at 15 and 30)."""
    from zoo.training import train_and_evaluate

    config = smoke_config(tmp_path_factory.mktemp("runs"), steps=30, validate_every=15)
    return train_and_evaluate(config, show_progress=False)
