"""Quiet TensorFlow's start-up logs and give every test a fresh Keras session.

Helpers shared by tests live in modules beside this one (`char_lm_runs`, ...), which
tests import; this file holds only fixtures.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Under pytest-xdist (the README's `-n 2`) each worker runs TensorFlow on one intra-op
# thread, so two workers share the two cores instead of four threads contending for them.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_keras_session():
    keras.utils.clear_session()
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One finished smoke training run (30 steps, validated at 15 and 30)."""
    from char_lm_runs import smoke_config, train_char_lm

    return train_char_lm(smoke_config(tmp_path_factory.mktemp("runs"), steps=30, validate_every=15))
