"""`python -m benchmarks.recurrent_matmuls`: its chains compute what they count (a tiny
configuration; the figures are in docs/benchmarks.md)."""

import numpy as np
import tensorflow as tf

from benchmarks import recurrent_matmuls


def test_two_groups_are_the_one_pass_over_split_rows():
    one, one_flops = recurrent_matmuls.chains(batch=4, units=3, gates=4, steps=2, groups=1)
    two, two_flops = recurrent_matmuls.chains(batch=4, units=3, gates=4, steps=2, groups=2)
    assert one_flops == two_flops == 2 * 2 * 2 * 4 * 3 * 12
    np.testing.assert_allclose(tf.concat(two(), 0), one()[0], rtol=1e-5)
    graph = two.get_concrete_function().graph.as_graph_def()
    assert sum(node.op == "MatMul" for node in graph.node) == 2 * 2 * 2


def test_the_benchmark_prints_a_row_per_size(capsys):
    recurrent_matmuls.main(["--units", "4", "8", "--batch", "4", "--steps", "1", "--pool", "default"])
    out = capsys.readouterr().out.splitlines()
    assert "intra-op pool: default" in out[0] and [line.split()[1] for line in out[1:]] == ["4:", "8:"]
