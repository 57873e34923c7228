"""Input gradient norms against the gradient of the embedding table, where every position
holds its own token (so a table row's gradient is that position's)."""

import numpy as np
import tensorflow as tf

from zoo.data import listops
from zoo.data.tree_batch import tree_batch
from zoo.evaluation.input_gradients import input_gradient_norms, mean_by_group
from zoo.models.classifier import build_sequence_classifier
from zoo.models.tree_classifier import build_tree_classifier


def table_gradient_norms(model, inputs, labels):
    table = model.get_layer("embedding").embeddings
    with tf.GradientTape() as tape:
        logits = model(list(inputs), training=False)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    rows = tf.convert_to_tensor(tape.gradient(loss, table))
    return np.linalg.norm(rows.numpy(), axis=-1)


def test_norms_equal_the_embedding_tables_gradient_rows_for_trees_and_sequences():
    tree = listops.parse_tree("[MAX 2 [MIN 4 7 ] 0 [SM 1 3 ] ]")
    batch = tree_batch([tree], width=12)
    count = int(batch.node_counts[0])
    ids = np.zeros((1, 12), np.int32)
    ids[0, :count] = np.arange(1, count + 1)  # one token per node: table row k is node k - 1
    labels = np.array([3], np.int32)
    tree_model = build_tree_classifier(10, 20, units=6)
    inputs = (ids, batch.parents, batch.depths, batch.child_slots)
    norms = input_gradient_norms(tree_model, inputs, labels)
    np.testing.assert_allclose(norms[0, :count], table_gradient_norms(tree_model, inputs, labels)[1:count + 1],
                               rtol=1e-5)
    np.testing.assert_array_equal(norms[0, count:], 0.0)  # padding embeds to zeros

    sequence_model = build_sequence_classifier(10, "lstm", 6, pool="last", vocab_size=20, embedding_dim=4)
    lengths = np.array([count], np.int32)
    norms = input_gradient_norms(sequence_model, (ids, lengths), labels)
    np.testing.assert_allclose(norms[0, :count],
                               table_gradient_norms(sequence_model, (ids, lengths), labels)[1:count + 1],
                               rtol=1e-5)


def test_mean_by_group_keeps_only_the_kept_positions():
    values = np.array([[1.0, 2.0, 3.0], [5.0, 7.0, 9.0]])
    groups = np.array([[0, 1, 1], [0, 1, 2]])
    keep = np.array([[True, True, False], [True, True, True]])
    assert mean_by_group(values, groups, keep) == {0: 3.0, 1: 4.5, 2: 9.0}
