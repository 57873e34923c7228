"""Trees as the rows of a batch, the layout `zoo.layers.tree` reads.

Each tree is flattened in pre-order, so its root is node 0 of its row; row b holds

    tokens[b, j]       node j's token: a leaf's token or a node's head ("" where the node
                       has none, as the binarised trees' inner nodes, and on padding)
    parents[b, j]      the parent's node index, -1 for the root and padding
    depths[b, j]       0 for the root, 1 + the parent's otherwise, -1 on padding
    child_slots[b, j]  the node's position among its siblings (0 for the root and padding)

For `[MAX 2 [MIN 4 7 ] ]`:

    j          0      1    2      3    4
    tokens     [MAX   2    [MIN   4    7
    parents    -1     0    0      2    2
    depths     0      1    1      2    2
    slots      0      0    1      0    1
"""

import dataclasses

import numpy as np

from zoo.data.listops import Node


@dataclasses.dataclass(frozen=True)
class TreeBatch:
    tokens: np.ndarray       # [batch, width] str
    parents: np.ndarray      # [batch, width] int32
    depths: np.ndarray       # [batch, width] int32
    child_slots: np.ndarray  # [batch, width] int32

    @property
    def node_counts(self):
        return (self.depths >= 0).sum(axis=1)


def flatten_tree(tree):
    """(tokens, parents, depths, child_slots) of one tree, lists in pre-order."""
    tokens, parents, depths, slots = [], [], [], []

    def visit(subtree, parent, depth, slot):
        index = len(tokens)
        tokens.append((subtree.head or "") if isinstance(subtree, Node) else subtree)
        parents.append(parent)
        depths.append(depth)
        slots.append(slot)
        if isinstance(subtree, Node):
            for position, child in enumerate(subtree.children):
                visit(child, index, depth + 1, position)

    visit(tree, -1, 0, 0)
    return tokens, parents, depths, slots


def tree_batch(trees, width=None):
    """The batch of `trees`, rows padded to `width` nodes (default: the largest tree)."""
    flat = [flatten_tree(tree) for tree in trees]
    longest = max(len(tokens) for tokens, *_ in flat)
    width = longest if width is None else width
    if longest > width:
        raise ValueError(f"a tree of {longest} nodes does not fit in a batch {width} nodes wide")
    batch = len(flat)
    tokens = np.full((batch, width), "", dtype=object)
    parents = np.full((batch, width), -1, dtype=np.int32)
    depths = np.full((batch, width), -1, dtype=np.int32)
    slots = np.zeros((batch, width), dtype=np.int32)
    for row, (node_tokens, node_parents, node_depths, node_slots) in enumerate(flat):
        count = len(node_tokens)
        tokens[row, :count] = node_tokens
        parents[row, :count] = node_parents
        depths[row, :count] = node_depths
        slots[row, :count] = node_slots
    return TreeBatch(tokens, parents, depths, slots)
