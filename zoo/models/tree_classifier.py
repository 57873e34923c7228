"""A tree classifier: tokens embedded at their nodes, node states composed bottom-up by a
tree layer (`zoo.layers.tree`), class logits from the root's state.

    logits = model([node_ids, parents, depths, child_slots])     # [batch, nodes] each

in the layout of `zoo.data.tree_batch`, node 0 of each row the root. Id 0 embeds to
zeros: the padding, and nodes without a token (the binarised trees' inner nodes), so
x_j = 0 there and padding a batch wider changes nothing.
"""

import functools

import keras
from keras import ops

from zoo.layers.tree import ChildSumTreeLSTM, NaryTreeLSTM, TreeRNN

TREE_LAYERS = {
    "tree-lstm": ChildSumTreeLSTM,
    "binary-tree-lstm": functools.partial(NaryTreeLSTM, arity=2),
    "tree-rnn": TreeRNN,
}
STRUCTURE_INPUTS = ("parents", "depths", "child_slots")


def build_tree_classifier(classes, vocab_size, model="tree-lstm", units=64, embedding_dim=32,
                          dropout=0.0, seed=0, name="tree_classifier"):
    """A functional Keras model (see the module docstring).

    Args:
        classes: Number of classes (logits).
        vocab_size: Token ids 1..vocab_size-1 (0: no token).
        model: One of TREE_LAYERS.
        units, embedding_dim: The node state's and the token embedding's sizes.
        dropout: Dropout on the root's state before the output layer.
        seed: Seed of the dropout.
        name: The Keras model's name.
    """
    if model not in TREE_LAYERS:
        raise ValueError(f"model must be one of {tuple(TREE_LAYERS)}, received: {model!r}")
    node_ids = keras.Input((None,), dtype="int32", name="node_ids")
    structure = [keras.Input((None,), dtype="int32", name=name_) for name_ in STRUCTURE_INPUTS]
    embedded = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(node_ids)
    embedded = embedded * ops.expand_dims(ops.cast(node_ids > 0, embedded.dtype), -1)
    states = TREE_LAYERS[model](units, name="tree")(embedded, *structure)
    root = states[:, 0]
    if dropout:
        root = keras.layers.Dropout(dropout, seed=seed, name="dropout")(root)
    logits = keras.layers.Dense(classes, name="logits")(root)
    return keras.Model([node_ids, *structure], logits, name=name)
