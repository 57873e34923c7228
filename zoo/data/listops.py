"""ListOps (Nangia & Bowman, 2018, "ListOps: A Diagnostic Dataset for Latent Tree Learning"):
prefix-form list expressions over the digits, their one parse and their value, generated
offline.

An expression is an operator applied to two or more arguments, each a digit or an
expression, written with the paper's tokens:

    [MAX 2 9 [MIN 4 7 ] 0 ]        value 9

    [MAX  maximum            [MIN  minimum
    [MED  median, rounded down to an integer (int of numpy's median, as the paper's generator)
    [SM   sum modulo 10      ]     closes the innermost open list

The grammar's settings are those of the paper's generator (`make_data.py` in
nyu-mll/spinn): an argument is a digit with probability 1 - VALUE_P = 0.75 and a
nested list otherwise, a list has 2 to MAX_ARGS = 5 arguments, and no list nests deeper
than MAX_DEPTH = 20 (the root is depth 1 and is always a list).

A tree is a `Node(head, children)` or a leaf token (a str). `parse_tree` reads the
bracket syntax `[HEAD child child ... ]` of any tokens, which the tree recipe also reads
from a user's file; `evaluate` gives a ListOps tree's value.
"""

import dataclasses
import statistics

import numpy as np

MAX = "[MAX"
MIN = "[MIN"
MED = "[MED"
SUM_MOD = "[SM"
CLOSE = "]"
OPERATORS = (MAX, MIN, MED, SUM_MOD)
DIGITS = tuple(str(value) for value in range(10))

VALUE_P = 0.25
MAX_ARGS = 5
MAX_DEPTH = 20


@dataclasses.dataclass(frozen=True)
class Node:
    """An inner node: its head token (`[MAX`, or any `[NAME` in a user's trees) and its
    children, each a Node or a leaf token."""

    head: str
    children: tuple


class TreeSyntaxError(ValueError):
    """A tree string that is not `[HEAD child ... ]` with balanced brackets."""


def tokens_of(text):
    """The whitespace-separated tokens of a tree string."""
    return text.split()


def parse_tree(text):
    """The tree written in `text` in the bracket syntax, or TreeSyntaxError saying what is
    wrong and at which token (1-based).

    A token starting with `[` opens a node whose head is that token; `]` closes the
    innermost open node, which must have at least one child; any other token is a leaf.
    The whole string is one tree: a node, or a single leaf.
    """
    tokens = tokens_of(text)
    if not tokens:
        raise TreeSyntaxError("empty tree: expected '[HEAD child ... ]' or one token")
    open_nodes = []  # [head, children, position of the head token]
    finished = None
    for position, token in enumerate(tokens, start=1):
        if finished is not None:
            raise TreeSyntaxError(f"token {position} {token!r} after the tree has ended")
        if token == CLOSE:
            if not open_nodes:
                raise TreeSyntaxError(f"token {position} ']' closes no open node")
            head, children, _ = open_nodes.pop()
            if not children:
                raise TreeSyntaxError(f"token {position} ']' closes {head!r} with no child")
            subtree = Node(head, tuple(children))
        elif token.startswith("["):
            open_nodes.append([token, [], position])
            continue
        else:
            subtree = token
        if open_nodes:
            open_nodes[-1][1].append(subtree)
        else:
            finished = subtree
    if open_nodes:
        head, _, position = open_nodes[-1]
        raise TreeSyntaxError(f"unbalanced brackets: {head!r} at token {position} is never closed")
    return finished


def to_text(tree):
    """The bracket string of `tree`; `parse_tree(to_text(tree)) == tree`."""
    if isinstance(tree, Node):
        return " ".join([tree.head, *(to_text(child) for child in tree.children), CLOSE])
    return tree


def depth(tree):
    """Nesting depth: 0 for a leaf, 1 for a list of leaves, 1 + the deepest child above."""
    if isinstance(tree, Node):
        return 1 + max(depth(child) for child in tree.children)
    return 0


def evaluate(tree):
    """The value (0-9) of a ListOps tree; ValueError for a head or leaf ListOps lacks."""
    if not isinstance(tree, Node):
        if tree not in DIGITS:
            raise ValueError(f"ListOps leaf {tree!r}: expected a digit 0-9")
        return int(tree)
    values = [evaluate(child) for child in tree.children]
    if tree.head == MAX:
        return max(values)
    if tree.head == MIN:
        return min(values)
    if tree.head == MED:
        return int(statistics.median(values))
    if tree.head == SUM_MOD:
        return sum(values) % 10
    raise ValueError(f"ListOps head {tree.head!r}: expected one of {', '.join(OPERATORS)}")


def random_expression(rng, max_depth=MAX_DEPTH, max_args=MAX_ARGS, value_p=VALUE_P):
    """One expression drawn from the grammar with a NumPy Generator `rng`.

    As the paper's generator: the root is a list; below it an argument is a nested list
    with probability `value_p` while the depth is under `max_depth`, else a digit; a list
    has 2 to `max_args` arguments and a uniformly drawn operator.
    """

    def draw(level):
        if level > 1 and (level >= max_depth or rng.random() >= value_p):
            return DIGITS[rng.integers(10)]
        arguments = int(rng.integers(2, max_args + 1))
        head = OPERATORS[rng.integers(len(OPERATORS))]
        return Node(head, tuple(draw(level + 1) for _ in range(arguments)))

    return draw(1)


def binarized(tree):
    """The left-branching binary tree of the ListOps paper's parses: every token is a leaf,
    and a list `[OP a b ... ]` reads `((([OP a) b) ...) ])`. Inner nodes have head None.
    """
    if not isinstance(tree, Node):
        return tree
    combined = tree.head
    for child in (*(binarized(child) for child in tree.children), CLOSE):
        combined = Node(None, (combined, child))
    return combined


@dataclasses.dataclass(frozen=True)
class Example:
    text: str
    value: int
    depth: int


def distinct_examples(rng, count, depths, seen, max_tokens, max_attempts_per_example=2000):
    """`count` expressions, distinct from each other and from the texts in `seen` (which
    grows), whose depth is in `depths` and whose length is at most `max_tokens`.

    Rejection sampling from the grammar, so depths keep the grammar's proportions within
    `depths`. ValueError when the grammar rarely yields such expressions.
    """
    examples = []
    attempts = 0
    while len(examples) < count:
        attempts += 1
        if attempts > max_attempts_per_example * count:
            raise ValueError(f"only {len(examples)} of {count} distinct ListOps expressions of "
                             f"depth {min(depths)}-{max(depths)} within {max_tokens} tokens")
        tree = random_expression(rng)
        text = to_text(tree)
        level = depth(tree)
        if level not in depths or text in seen or len(tokens_of(text)) > max_tokens:
            continue
        seen.add(text)
        examples.append(Example(text, evaluate(tree), level))
    return examples


@dataclasses.dataclass(frozen=True)
class ListOpsSplits:
    train: list
    validation: list
    test: list
    deeper: list


def listops_splits(seed, train, validation, test, deeper, max_train_depth, max_deeper_depth,
                   max_tokens):
    """Seeded ListOps splits with no expression in two of them.

    Train, validation and test draw depths 1 to `max_train_depth`; the held-out `deeper`
    split draws depths `max_train_depth + 1` to `max_deeper_depth`, nesting the models
    never saw in training.
    """
    rng = np.random.default_rng(seed)
    seen = set()
    shallow = range(1, max_train_depth + 1)
    return ListOpsSplits(
        train=distinct_examples(rng, train, shallow, seen, max_tokens),
        validation=distinct_examples(rng, validation, shallow, seen, max_tokens),
        test=distinct_examples(rng, test, shallow, seen, max_tokens),
        deeper=distinct_examples(rng, deeper, range(max_train_depth + 1, max_deeper_depth + 1),
                                 seen, max_tokens),
    )
