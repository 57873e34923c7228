"""`RecurrentLayer` takes the backend's own fused kernel where Keras' LSTM / GRU would,
and falls back otherwise, with the cell loop's results either way.

TensorFlow has no such kernel on a CPU (its kernel is cuDNN), so the check runs under the
Keras JAX backend, whose GRU kernel (`keras.src.backend.gru`, a `lax.scan` with one
input projection) also runs on a CPU. The backend is fixed when Keras is imported, so
`jax_backend_run.py` runs in a fresh interpreter.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

RUNNER = pathlib.Path(__file__).with_name("jax_backend_run.py")

# Every test reads one run of the zoo under JAX in a fresh interpreter (about 24 s): slow.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def jax_report():
    environment = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    completed = subprocess.run([sys.executable, str(RUNNER)], env=environment, capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_the_zoo_runs_under_jax_without_importing_tensorflow(jax_report):
    assert jax_report["backend"] == "jax"
    assert jax_report["tensorflow_imported"] is False


def test_a_reset_after_gru_takes_the_backend_kernel_and_matches_the_loop(jax_report):
    report = jax_report["gru_reset_after"]
    assert report["kernel_calls"] == {"lstm": 0, "gru": 1}
    assert report["compared"] == 6  # outputs, h_T, dW, dU, db, dx
    assert report["max_difference"] < 1e-5


@pytest.mark.parametrize("kind", ["lstm", "gru_reset_before", "elman", "gru_reset_after_portable"])
def test_cells_without_a_backend_kernel_here_run_the_loop(jax_report, kind):
    # JAX's LSTM kernel is cuDNN (GPU only); a reset-before GRU and the Elman cell have none;
    # inside portable_kernels() (used by the serving export) no kernel is taken.
    report = jax_report[kind]
    assert report["kernel_calls"] == {"lstm": 0, "gru": 0}
    assert report["max_difference"] == 0.0
