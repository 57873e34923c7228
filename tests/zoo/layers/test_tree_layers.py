"""The tree layers against a NumPy recursion written from Tai et al. (2015), float64 finite
differences, the sequential cells on chains, and the Keras contract (config, .keras)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from finite_differences import assert_gradients_match

import zoo
from zoo.data import listops
from zoo.data.listops import Node
from zoo.data.tree_batch import tree_batch
from zoo.layers.tree import ChildSumTreeLSTM, NaryTreeLSTM, TreeRNN

INPUT_DIM, UNITS = 3, 4


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_states(layer, tree, embed):
    """(h, c) of every node of `tree`, pre-order, by recursion over the tree's children."""
    W, U, b = (np.asarray(w, dtype=np.float64) for w in
               (layer.kernel, layer.recurrent_kernel, layer.bias))
    u = layer.units
    states = []

    def visit(node):
        index = len(states)
        states.append(None)
        children = [visit(child) for child in node.children] if isinstance(node, Node) else []
        x = embed(node)
        if isinstance(layer, TreeRNN):
            h_sum = sum((states[k][0] for k in children), np.zeros(u))
            states[index] = (np.tanh(x @ W + h_sum @ U + b), None)
        elif isinstance(layer, ChildSumTreeLSTM):
            h_sum = sum((states[k][0] for k in children), np.zeros(u))
            i = sigmoid(x @ W[:, :u] + h_sum @ U[:, :u] + b[:u])
            g = np.tanh(x @ W[:, 2 * u:3 * u] + h_sum @ U[:, 2 * u:3 * u] + b[2 * u:3 * u])
            o = sigmoid(x @ W[:, 3 * u:] + h_sum @ U[:, 3 * u:] + b[3 * u:])
            c = i * g
            for k in children:
                f_k = sigmoid(x @ W[:, u:2 * u] + states[k][0] @ U[:, u:2 * u] + b[u:2 * u])
                c = c + f_k * states[k][1]
            states[index] = (o * np.tanh(c), c)
        else:
            n = layer.arity
            slots_h = [np.zeros(u) for _ in range(n)]
            slots_c = [np.zeros(u) for _ in range(n)]
            for slot, k in enumerate(children):
                slots_h[slot], slots_c[slot] = states[k]

            def gate(column):  # x_j W_col + sum_s h_js U_col^(s) + b_col
                cols = slice(column * u, (column + 1) * u)
                return (x @ W[:, cols] + b[cols]
                        + sum(slots_h[s] @ U[s * u:(s + 1) * u, cols] for s in range(n)))

            i, g, o = sigmoid(gate(0)), np.tanh(gate(n + 1)), sigmoid(gate(n + 2))
            c = i * g + sum(sigmoid(gate(1 + s)) * slots_c[s] for s in range(n))
            states[index] = (o * np.tanh(c), c)
        return index

    visit(tree)
    return states


def random_weights(layer, rng):
    for weight in layer.weights:
        weight.assign(rng.normal(scale=0.5, size=weight.shape))


def embedding_table(batch, rng):
    vocabulary = sorted(set(batch.tokens.ravel()) - {""})
    table = {token: rng.normal(size=INPUT_DIM) for token in vocabulary}
    table[""] = np.zeros(INPUT_DIM)
    return table


def layer_inputs(batch, table):
    inputs = np.stack([[table[token] for token in row] for row in batch.tokens])
    return (inputs, batch.parents, batch.depths, batch.child_slots)


def listops_trees(rng, count, binary):
    trees = [listops.random_expression(rng, max_depth=4) for _ in range(count)]
    return [listops.binarized(tree) for tree in trees] if binary else trees


LAYERS = {
    "tree-rnn": lambda: TreeRNN(UNITS, dtype="float64"),
    "child-sum": lambda: ChildSumTreeLSTM(UNITS, dtype="float64"),
    "binary": lambda: NaryTreeLSTM(UNITS, arity=2, dtype="float64"),
}


@pytest.mark.parametrize("kind", LAYERS)
def test_node_states_equal_a_numpy_recursion_over_each_tree(kind):
    rng = np.random.default_rng(0)
    trees = listops_trees(rng, 6, binary=kind == "binary")
    batch = tree_batch(trees, width=tree_batch(trees).tokens.shape[1] + 3)  # padded rows too
    table = embedding_table(batch, rng)
    layer = LAYERS[kind]()
    layer(*layer_inputs(batch, table))
    random_weights(layer, rng)
    states = np.asarray(layer(*layer_inputs(batch, table)))
    for row, tree in enumerate(trees):
        expected = numpy_states(layer, tree, lambda node: table[
            (node.head or "") if isinstance(node, Node) else node])
        count = len(expected)
        np.testing.assert_allclose(states[row, :count], [h for h, _ in expected], atol=1e-12)
        np.testing.assert_array_equal(states[row, count:], 0.0)


@pytest.mark.parametrize("kind", LAYERS)
def test_gradients_equal_float64_finite_differences(kind):
    rng = np.random.default_rng(1)
    trees = listops_trees(rng, 3, binary=kind == "binary")
    batch = tree_batch(trees)
    inputs, *structure = layer_inputs(batch, embedding_table(batch, rng))
    layer = LAYERS[kind]()
    layer(inputs, *structure)
    random_weights(layer, rng)
    probe = rng.normal(size=(*batch.parents.shape, UNITS))
    inputs = tf.Variable(inputs)

    @tf.function
    def loss():
        return tf.reduce_sum(layer(inputs, *structure) * probe)

    variables = [inputs, *layer.weights]
    assert_gradients_match(loss, variables, rng, entries=8)


def chain(length):
    """x_1 at the leaf, ..., x_length at the root: the chain a sequence is bottom-up."""
    tree = "x1"
    for step in range(2, length + 1):
        tree = Node(f"[x{step}", (tree,))
    return tree


@pytest.mark.parametrize("kind, cell", [
    ("tree-rnn", lambda: zoo.ElmanCell(UNITS, dtype="float64")),
    ("child-sum", lambda: zoo.LSTMCell(UNITS, dtype="float64")),
    ("unary", lambda: zoo.LSTMCell(UNITS, dtype="float64")),
    ("binary", lambda: zoo.LSTMCell(UNITS, dtype="float64")),
])
def test_on_a_chain_the_root_is_the_sequential_cell_at_the_last_step(kind, cell):
    rng = np.random.default_rng(2)
    length = 5
    batch = tree_batch([chain(length)])
    sequence = rng.normal(size=(1, length, INPUT_DIM))
    table = {"": np.zeros(INPUT_DIM)}
    table.update({f"x{t}": sequence[0, t - 1] for t in range(1, length + 1)})
    table.update({f"[x{t}": sequence[0, t - 1] for t in range(1, length + 1)})
    layer = NaryTreeLSTM(UNITS, arity=1, dtype="float64") if kind == "unary" else LAYERS[kind]()
    inputs = layer_inputs(batch, table)
    layer(*inputs)
    random_weights(layer, rng)
    rnn = keras.layers.RNN(cell(), dtype="float64")
    rnn(sequence)
    kernel, recurrent, bias = (np.asarray(w) for w in
                               (layer.kernel, layer.recurrent_kernel, layer.bias))
    if kind == "binary":
        # Slot 0 only: U^(1) rows, and the columns i, f_1, c, o of i, f_1, f_2, c, o.
        columns = np.r_[0:2 * UNITS, 3 * UNITS:5 * UNITS]
        kernel, recurrent, bias = kernel[:, columns], recurrent[:UNITS, columns], bias[columns]
    rnn.cell.kernel.assign(kernel)
    rnn.cell.recurrent_kernel.assign(recurrent)
    rnn.cell.bias.assign(bias)
    root = np.asarray(layer(*inputs))[0, 0]
    np.testing.assert_allclose(root, np.asarray(rnn(sequence))[0], atol=1e-12)


@pytest.mark.parametrize("kind", LAYERS)
def test_config_round_trip_and_keras_file(kind, tmp_path):
    layer = LAYERS[kind]()
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    rng = np.random.default_rng(3)
    batch = tree_batch(listops_trees(rng, 2, binary=kind == "binary"))
    inputs = layer_inputs(batch, embedding_table(batch, rng))
    node_inputs = keras.Input((None, INPUT_DIM), dtype="float64")
    structure = [keras.Input((None,), dtype="int32") for _ in range(3)]
    model = keras.Model([node_inputs, *structure], layer(node_inputs, *structure))
    path = tmp_path / "tree.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(list(inputs)), model(list(inputs)), atol=1e-12)


def test_forget_biases_start_at_forget_bias_and_arity_is_checked():
    layer = NaryTreeLSTM(2, arity=3, forget_bias=1.5)
    layer.build((None, None, INPUT_DIM))
    np.testing.assert_array_equal(np.asarray(layer.bias), [0, 0] + [1.5] * 6 + [0] * 4)
    with pytest.raises(ValueError, match="arity"):
        NaryTreeLSTM(2, arity=0)
