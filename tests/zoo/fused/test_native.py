"""The compiled step kernels (`zoo.fused.native`): they build here, the LSTM's fused pass
takes them, computes with them what it computes with TensorFlow ops (float64, masks,
reversal, the batch split, float32), and graphs meant for TensorFlow Serving or XLA never
hold them; without a compiler the pass runs TensorFlow ops."""

import numpy as np
import pytest
import tensorflow as tf
from cell_kinds import randomize

import zoo
from zoo.fused import native
from zoo.fused.schedule import fused_schedule
from zoo.layers.recurrent import RecurrentLayer, portable_kernels

BATCH, STEPS, FEATURES, UNITS = 4, 6, 5, 3
HOLES = [[True, False, True, True, False, True], [False, True] * 3, [True] * 6, [False] * 3 + [True] * 3]


def lstm_layer(dtype, go_backwards=False):
    layer = RecurrentLayer(zoo.LSTMCell(UNITS, dtype=dtype), return_sequences=True, return_state=True,
                           go_backwards=go_backwards, dtype=dtype)
    layer.build((BATCH, STEPS, FEATURES))
    randomize(layer, seed=4)
    return layer


def results(layer, dtype, mask=None):
    """Outputs, final states and the gradients of every input and weight, in a graph."""
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(size=(BATCH, STEPS, FEATURES)), dtype)
    state = [tf.constant(rng.normal(size=(BATCH, UNITS)), dtype) for _ in range(2)]
    probe = tf.constant(rng.normal(size=(BATCH, STEPS, UNITS)), dtype)

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            tape.watch([x, *state])
            outputs, *final = layer(x, initial_state=state, mask=mask)
            loss = tf.reduce_sum(tf.sin(3 * outputs) * probe) + sum(tf.reduce_sum(tf.cos(2 * s)) for s in final)
        return [outputs, *final, *tape.gradient(loss, [x, *state, *layer.trainable_variables])]

    return [value.numpy() for value in run()], run.get_concrete_function().graph


def op_types(graph):
    """Every op type in `graph` and in the functions it calls (the custom gradient's)."""
    types = {op.type for op in graph.get_operations()}
    for function in graph._functions.values():
        types |= {node.op for node in function.definition.node_def}
    return types


def test_the_kernels_build_and_load_here():
    # CI's machines have a C++ compiler: a kernel that stops building must fail here,
    # not pass silently on the TensorFlow ops.
    assert native.step_kernels(tf.float32) is not None
    assert native.step_kernels(tf.float64) is not None
    assert native.step_kernels(tf.bfloat16) is None


@pytest.mark.parametrize("case", ["plain", "masked_reversed", "batch_split"])
def test_the_compiled_pass_equals_the_tensorflow_ops_pass_in_float64(case):
    layer = lstm_layer("float64", go_backwards=case == "masked_reversed")
    mask = tf.constant(HOLES) if case == "masked_reversed" else None
    with fused_schedule("batch-split" if case == "batch_split" else "single"):
        compiled, compiled_graph = results(layer, "float64", mask)
        with native.tf_ops_only():
            reference, reference_graph = results(layer, "float64", mask)
    assert "ZooLstmStep" in op_types(compiled_graph) and "ZooLstmStepGrad" in op_types(compiled_graph)
    assert not {"ZooLstmStep", "ZooLstmStepGrad"} & op_types(reference_graph)
    for a, b in zip(compiled, reference):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_the_compiled_pass_tracks_the_tensorflow_ops_pass_in_float32():
    # Both take Eigen's float activations; sums may round differently.
    layer = lstm_layer("float32")
    compiled, _ = results(layer, "float32")
    with native.tf_ops_only():
        reference, _ = results(layer, "float32")
    for a, b in zip(compiled, reference):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_portable_graphs_hold_core_tensorflow_ops_only():
    layer = lstm_layer("float32")
    with portable_kernels():
        _, graph = results(layer, "float32")
    assert not {"ZooLstmStep", "ZooLstmStepGrad"} & op_types(graph)


def test_the_switch_turns_the_kernels_off(monkeypatch):
    monkeypatch.setenv(native.SWITCH, "0")
    assert native.step_kernels(tf.float32) is None
    _, graph = results(lstm_layer("float32"), "float32")
    assert "ZooLstmStep" not in op_types(graph)


def test_a_compiler_that_fails_is_reported_and_leaves_no_library(monkeypatch, tmp_path):
    monkeypatch.setenv("RNN_ZOO_CACHE", str(tmp_path))
    monkeypatch.setenv("CXX", "false")  # runs, prints nothing, exits 1
    monkeypatch.setattr(native, "_compiler_version", lambda compiler: "false 1.0")
    with pytest.raises(OSError, match="false failed on lstm_step.cc"):
        native._built()
    assert [path.name for path in tmp_path.rglob("*.so")] == []


def test_a_missing_compiler_falls_back_to_tensorflow_ops(monkeypatch, tmp_path):
    monkeypatch.setenv("RNN_ZOO_CACHE", str(tmp_path))
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    native._library.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="the fused passes run TensorFlow ops"):
            assert native.step_kernels(tf.float32) is None
    finally:
        native._library.cache_clear()  # the next test loads the real library again


@pytest.mark.parametrize("cpu_flags, expected", [
    ("fpu sse2 avx2 fma avx512f avx512vl avx512dq avx512bw avx512_fp16", "-mavx512bw"),
    ("fpu sse2 avx2 fma avx512f", "-mfma"),  # AVX-512 without the subsets Eigen's packets use
    ("fpu sse2 avx2 fma", "-mfma"),
    ("fpu sse2 avx", None),
])
def test_the_kernels_are_built_for_the_widest_vectors_the_cpu_has(cpu_flags, expected):
    flags = native._vector_flags(cpu_flags.split())
    assert (flags[-1] if flags else None) == expected
    assert "-march=native" not in flags
