"""`python -m benchmarks.throughput`: its matmul reference and one row of its table (a tiny
configuration; the figures are in docs/benchmarks.md)."""

import pytest

from benchmarks import throughput


def test_the_matmul_reference_multiplies_and_counts_every_copy():
    """Two copies (the reference for a pool of one intra-op thread) are two distinct
    products in one graph, both counted."""
    step, flops = throughput.matmul(size=4, copies=2)
    step(0)
    assert flops == 2 * 2 * 4 ** 3
    graph = step.products.get_concrete_function().graph.as_graph_def()
    matmuls = [node for node in graph.node if node.op == "MatMul"]
    assert len(matmuls) == 2 and matmuls[0].input != matmuls[1].input


@pytest.mark.slow  # tracing five peers: a check of the benchmark's own plumbing
def test_the_benchmark_names_its_pool_and_prints_a_row_of_rates(capsys):
    throughput.main(["--cells", "elman", "--units", "8", "--layers", "2", "--steps", "1", "--pool", "default"])
    out = capsys.readouterr().out.splitlines()
    assert "TF intra-op pool: TensorFlow's default" in out[0]
    row = out[-1].split()
    assert row[:3] == ["elman", "2", "8"] and all(float(value) > 0 for value in row[3:7])
