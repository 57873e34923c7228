"""The ListOps generator: values recomputed by an independent stack evaluator, the grammar's
limits, seeded disjoint splits, and the bracket parser's refusals."""

import numpy as np
import pytest

from zoo.data import listops
from zoo.data.listops import Node, TreeSyntaxError, parse_tree


def stack_value(text):
    """The value of a ListOps string by a stack over its tokens, without building a tree."""
    stack = []
    for token in text.split():
        if token == "]":
            arguments = []
            while not isinstance(stack[-1], str):
                arguments.append(stack.pop())
            operator = stack.pop()
            stack.append({"[MAX": max, "[MIN": min,
                          "[MED": lambda a: int(np.median(a)),
                          "[SM": lambda a: sum(a) % 10}[operator](arguments))
        elif token.startswith("["):
            stack.append(token)
        else:
            stack.append(int(token))
    (value,) = stack
    return value


def lists_of(tree):
    if isinstance(tree, Node):
        yield tree
        for child in tree.children:
            yield from lists_of(child)


def test_values_equal_an_independent_stack_evaluation():
    rng = np.random.default_rng(0)
    for _ in range(500):
        tree = listops.random_expression(rng)
        text = listops.to_text(tree)
        assert listops.evaluate(tree) == stack_value(text)
        assert parse_tree(text) == tree


def test_the_grammar_keeps_the_papers_limits():
    rng = np.random.default_rng(1)
    trees = [listops.random_expression(rng) for _ in range(3000)]
    assert all(isinstance(tree, Node) for tree in trees)  # the root is always a list
    arities = {len(node.children) for tree in trees for node in lists_of(tree)}
    assert arities == {2, 3, 4, 5}
    heads = {node.head for tree in trees for node in lists_of(tree)}
    assert heads == set(listops.OPERATORS)
    depths = [listops.depth(tree) for tree in trees]
    # Lists open at levels 1..MAX_DEPTH - 1; level MAX_DEPTH holds digits only.
    assert max(depths) <= listops.MAX_DEPTH - 1
    # An argument is a list with probability VALUE_P: the share of depth-1 trees is
    # E[(1 - p)^arity] with arity uniform on 2..5.
    expected = np.mean([(1 - listops.VALUE_P) ** k for k in range(2, 6)])
    assert abs(np.mean(np.array(depths) == 1) - expected) < 0.03


def test_splits_are_seeded_disjoint_and_the_deeper_split_nests_deeper():
    splits = listops.listops_splits(seed=3, train=300, validation=50, test=50, deeper=40,
                                    max_train_depth=3, max_deeper_depth=6, max_tokens=120)
    texts = [[example.text for example in split] for split in
             (splits.train, splits.validation, splits.test, splits.deeper)]
    every = [text for split in texts for text in split]
    assert len(every) == len(set(every)) == 440
    assert max(example.depth for example in splits.train) == 3
    assert {example.depth for example in splits.deeper} <= {4, 5, 6}
    assert all(len(text.split()) <= 120 for text in every)
    assert all(example.value == stack_value(example.text) for example in splits.deeper)
    again = listops.listops_splits(seed=3, train=300, validation=50, test=50, deeper=40,
                                   max_train_depth=3, max_deeper_depth=6, max_tokens=120)
    assert again == splits
    other = listops.listops_splits(seed=4, train=300, validation=50, test=50, deeper=40,
                                   max_train_depth=3, max_deeper_depth=6, max_tokens=120)
    assert other.train != splits.train


def test_binarized_trees_are_left_branching_over_every_token():
    tree = parse_tree("[MAX 2 [MIN 4 7 ] 0 ]")
    binary = listops.binarized(tree)

    def leaves(node):
        return [leaf for child in node.children for leaf in leaves(child)] \
            if isinstance(node, Node) else [node]

    assert leaves(binary) == "[MAX 2 [MIN 4 7 ] 0 ]".split()
    # (((([MAX 2) [MIN-list) 0) ]): the right child of every inner node is one argument.
    assert binary.children[1] == "]" and binary.children[0].children[1] == "0"


@pytest.mark.parametrize("text, message", [
    ("", "empty tree"),
    ("[MAX 1 2", "'[MAX' at token 1 is never closed"),
    ("[MAX 1 ] ]", "token 4 ']' after the tree has ended"),
    ("] 1", "token 1 ']' closes no open node"),
    ("[MAX ]", "token 2 ']' closes '[MAX' with no child"),
    ("1 2", "token 2 '2' after the tree has ended"),
])
def test_malformed_trees_are_refused_naming_the_token(text, message):
    with pytest.raises(TreeSyntaxError, match=message.replace("[", r"\[")):
        parse_tree(text)


def test_any_tokens_parse_and_evaluate_refuses_what_listops_lacks():
    tree = parse_tree("[S [NP the cat ] [VP sat ] ]")
    assert tree == Node("[S", (Node("[NP", ("the", "cat")), Node("[VP", ("sat",))))
    assert parse_tree("leaf") == "leaf"
    with pytest.raises(ValueError, match="head '\\[S'"):
        listops.evaluate(parse_tree("[S 1 2 ]"))
    with pytest.raises(ValueError, match="leaf 'the'"):
        listops.evaluate(tree)
