"""The in-graph bracket parser against the Python parser and flattener, on random and
malformed trees."""

import numpy as np
import tensorflow as tf

from zoo.data import listops, tree_graph
from zoo.data.listops import Node, TreeSyntaxError, parse_tree
from zoo.data.tree_batch import tree_batch

MAX_DEPTH = 24


def random_tree(rng, depth=0):
    """A tree of made-up tokens, 1 to 4 children per node (any arity, unlike ListOps)."""
    if depth >= 4 or (depth > 0 and rng.random() < 0.5):
        return f"w{rng.integers(5)}"
    return Node(f"[h{rng.integers(3)}", tuple(random_tree(rng, depth + 1)
                                               for _ in range(rng.integers(1, 5))))


def graph_parse(texts):
    rows = tree_graph.token_rows(tf.constant(texts))
    rules = {name: held.numpy() for name, held in tree_graph.syntax(rows).items()}
    return rows, rules


def test_valid_trees_parse_in_the_graph_as_in_python():
    rng = np.random.default_rng(0)
    trees = ([listops.random_expression(rng, max_depth=6) for _ in range(20)]
             + [random_tree(rng) for _ in range(20)] + ["lone"])
    texts = [listops.to_text(tree) for tree in trees]
    rows, rules = graph_parse(texts)
    assert all(held.all() for held in rules.values())
    tokens, parents, depths, slots = tree_graph.parse(rows, MAX_DEPTH)
    expected = tree_batch(trees)
    np.testing.assert_array_equal(tokens.numpy().astype(str), expected.tokens.astype(str))
    np.testing.assert_array_equal(parents, expected.parents)
    np.testing.assert_array_equal(depths, expected.depths)
    np.testing.assert_array_equal(slots, expected.child_slots)
    np.testing.assert_array_equal(tree_graph.node_depths(rows), expected.depths.max(axis=1))


def mutated(rng, text):
    """`text` with one bracket token dropped, added or moved: often no longer a tree."""
    tokens = text.split()
    position = int(rng.integers(len(tokens) + 1))
    choice = rng.integers(3)
    if choice == 0 and len(tokens) > 1:
        del tokens[min(position, len(tokens) - 1)]
    elif choice == 1:
        tokens.insert(position, "]")
    else:
        tokens.insert(position, "[h9")
    return " ".join(tokens)


def test_the_graph_refuses_exactly_what_the_python_parser_refuses():
    rng = np.random.default_rng(1)
    _, only_empty = graph_parse(["", " "])  # rows of no token at all: every rule still computes
    assert not only_empty["nonempty"].any()
    texts = ["", "  ", "]", "[a ]", "[a b ] c", "a b", "[a [b ] c ]"]
    trees = [listops.to_text(random_tree(rng)) for _ in range(300)]
    texts += [mutated(rng, text) for text in trees] + trees[:30]
    _, rules = graph_parse(texts)
    accepted = np.all(np.stack(list(rules.values())), axis=0)
    for text, held in zip(texts, accepted):
        try:
            parse_tree(text)
            python_accepts = True
        except TreeSyntaxError:
            python_accepts = False
        assert held == python_accepts, text
    assert accepted.sum() >= 50 and (~accepted).sum() >= 200  # both verdicts are exercised


def test_binarised_trees_parse_in_the_graph_as_in_python():
    rng = np.random.default_rng(2)
    trees = ([listops.random_expression(rng, max_depth=6) for _ in range(20)]
             + [random_tree(rng) for _ in range(20)] + ["lone", listops.parse_tree("[a b ]")])
    rows, _ = graph_parse([listops.to_text(tree) for tree in trees])
    tokens, parents, depths, slots = tree_graph.binarized_parse(rows, MAX_DEPTH)
    expected = tree_batch([listops.binarized(tree) for tree in trees])
    np.testing.assert_array_equal(tokens.numpy().astype(str), expected.tokens.astype(str))
    np.testing.assert_array_equal(parents, expected.parents)
    np.testing.assert_array_equal(depths, expected.depths)
    np.testing.assert_array_equal(slots, expected.child_slots)
