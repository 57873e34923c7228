"""The information-flow regulariser of Pascanu, Mikolov & Bengio (2013, "On the difficulty
of training recurrent neural networks", eq. 9): it asks the gradient back-propagated
through time to keep its norm from one step to the step before.

    Omega = sum_t ( || g_t ds_t/ds_{t-1} || / || g_t || - 1 )^2,   g_t = dL/ds_t

s_t is a recurrent layer's state after step t (all of the cell's state tensors side by
side) and g_t the loss's gradient reaching it through every later step and layer. As in
the paper (eq. 10), g and the states are held constant (`tf.stop_gradient`): Omega's
gradient is the immediate derivative through each step's Jacobian ds_t/ds_{t-1}. The sum
runs over the steps of every recurrent layer call the loss makes (the layers of a stack,
both directions, TBPTT's two segments of a window) and the mean over the batch's rows;
a step whose g is exactly zero, or that the mask skips (its Jacobian is the identity),
adds nothing. The training objective is L + lambda Omega (`--flow-penalty LAMBDA`).

The fused passes do not expose g_t, so the loss is computed once more with its recurrent
layers on the probed cell loop (`zoo.layers.probed`): s_t = cell(x_t, s_{t-1}) + p_t with
p_t = 0, so that g_t = dL/dp_t. Then every vector-Jacobian product g_t ds_t/ds_{t-1} of a
layer call at once: one call of the cell on all (x_t, s_{t-1}) pairs as rows, under a tape
of its own, whose result the training step's tape differentiates again (a second
derivative). The penalised update replaces the fused pass by the cell loop and adds about
two passes over the sequence (the long-range recipe's docs give the measured cost).
"""

import tensorflow as tf

from zoo.layers.probed import cell_step, probing_states


def _loss_of(result):
    """The loss of what a loss function returns: itself, or a tuple's first item."""
    return result[0] if isinstance(result, tuple) else result


def penalised_loss(compute_loss, strength):
    """(objective, what `compute_loss()` returns, reported) for an update rule.

    objective = L + strength * Omega, L being `compute_loss()`'s loss (`with_flow_penalty`);
    reported = {"loss": L, "flow_penalty": Omega}, the values the update reports instead of
    the objective. With strength 0 the loss runs as it is (fused passes and all):
    objective = L, reported = {}."""
    if not strength:
        result = compute_loss()
        return _loss_of(result), result, {}
    result, omega = with_flow_penalty(compute_loss)
    loss = _loss_of(result)
    omega = tf.cast(omega, loss.dtype)
    return loss + strength * omega, result, {"loss": loss, "flow_penalty": omega}


def scaled(reported, share):
    """A replica's share of each reported value (they are summed over the replicas)."""
    return {name: value * share for name, value in reported.items()}


def with_flow_penalty(compute_loss):
    """(what `compute_loss()` returns, Omega) with the recurrent layers of the loss probed.

    `compute_loss()` returns the mean training loss, or a tuple whose first item it is
    (TBPTT's (loss, carried state), a minibatch loss's (loss, weight)). Omega is a scalar
    in the states' dtype whose gradient reaches the cells' weights; ValueError where the loss runs no
    recurrent layer."""
    with tf.GradientTape() as probe_tape:
        with probing_states(probe_tape) as recording:
            result = compute_loss()
        loss = _loss_of(result)
    if not recording.records:
        raise ValueError("the flow penalty needs a loss that runs a zoo RecurrentLayer; this one runs none")
    gradients = probe_tape.gradient(loss, [record.probes for record in recording.records])
    omega = tf.add_n([_omega(record, tf.stop_gradient(g)) for record, g in zip(recording.records, gradients)])
    return result, omega


def _omega(record, gradients):
    """Sum over the steps of one layer call, mean over its rows, of eq. 9's terms."""
    rows = lambda tensor: tf.reshape(tensor, (-1, tensor.shape[-1]))
    previous = rows(tf.stop_gradient(record.previous))
    with tf.GradientTape() as step_tape:
        step_tape.watch(previous)
        following = cell_step(record.cell, rows(record.inputs), previous, tf.reshape(record.taken, (-1,)),
                              record.sizes)
    carried = step_tape.gradient(following, previous, output_gradients=rows(gradients))
    back_norm, norm = tf.norm(carried, axis=-1), tf.norm(rows(gradients), axis=-1)
    terms = tf.where(norm > 0, tf.square(back_norm / tf.where(norm > 0, norm, 1.0) - 1.0), 0.0)
    return tf.reduce_sum(terms) / tf.cast(tf.shape(record.previous)[1], terms.dtype)
