"""How much each input position moves the loss: ||dL/dx_p||, x_p the embedded token at
position p (a step of a sequence, a node of a tree).

For a sequential model this is the gradient that reached step p back through time; for a
tree model the gradient that reached node p down through the tree, so grouping it by a
token's nesting depth compares the two on the same axis (the tree's counterpart of
gradient flow through time, `zoo.evaluation.gradient_flow`).
"""

import keras
import numpy as np
import tensorflow as tf

from zoo.evaluation.batched import row_chunks


def input_gradient_norms(model, inputs, labels, layer_name="embedding"):
    """||dL_b/dx_{b,p}|| [rows, positions] for the arrays `inputs` of `model` and class ids
    `labels`, L_b the cross-entropy of row b and x the output of the layer `layer_name`
    (the rows are independent, so the gradient of the summed loss is each row's own)."""
    layer = model.get_layer(layer_name)
    ids_at = next(k for k, tensor in enumerate(model.inputs) if tensor is layer.input)
    from_embedded = keras.Model([*model.inputs, layer.output], model.output)

    @tf.function(reduce_retracing=True)  # splits and their last chunks differ in width
    def norms(labels, *inputs):
        embedded = layer(inputs[ids_at])
        with tf.GradientTape() as tape:
            tape.watch(embedded)
            logits = from_embedded([*inputs, embedded], training=False)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        return tf.norm(tape.gradient(loss, embedded), axis=-1)

    return np.concatenate([norms(*chunk).numpy() for chunk in row_chunks(labels, *inputs)])


def mean_by_group(values, groups, keep):
    """{group: mean of `values` where `keep`} over the groups present (int keys, sorted)."""
    values, groups = values[keep], groups[keep]
    return {int(group): float(values[groups == group].mean()) for group in np.unique(groups)}
