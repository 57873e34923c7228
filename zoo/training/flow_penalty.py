"""The information-flow regulariser of Pascanu, Mikolov & Bengio (2013, "On the difficulty
of training recurrent neural networks", eq. 9): it asks the gradient back-propagated
through time to keep its norm from one step to the step before.

    Omega = sum_t ( || g_{t+1} ds_{t+1}/ds_t || / || g_{t+1} || - 1 )^2,   g_t = dL/ds_t

s_t is the recurrent layer's state after step t (all of the cell's state tensors side by
side) and g_t the loss's gradient reaching it through every later step. As in the paper
(eq. 10), g and the states s_t are held constant (`tf.stop_gradient`): Omega's gradient
is the immediate derivative through each step's Jacobian ds_{t+1}/ds_t. The sum runs over the steps of each sequence and
the mean over the batch's sequences; a step whose g is exactly zero adds nothing.

The fused passes do not expose g_t, so the penalty runs on the cell loop:
1. the states s_1..s_T again, by the cell in a `tf.while_loop`, each with a zero probe
   added, s_t = cell(x_t, s_{t-1}) + p_t, and the step's output read from the probed
   state (`output_of_states`), so that dL/dp_t = g_t;
2. the loss of the model's layers after the recurrent one on those outputs, and its
   gradient with respect to the probes;
3. every vector-Jacobian product g_{t+1} ds_{t+1}/ds_t at once: one call of the cell on
   all (s_t, x_{t+1}) pairs of the batch as rows, under a tape of its own, whose result
   the training step's tape differentiates again (a second derivative).
It costs about two more passes over the sequence than the update itself (see the
long-range recipe's docs for the measured cost).
"""

import keras
import tensorflow as tf

from zoo.cells.ntm import NTMCell


def _flat(states):
    return tf.concat([tf.reshape(s, (tf.shape(s)[0], -1)) for s in states], axis=-1)


def _split(flat, sizes):
    return list(tf.split(flat, sizes, axis=-1))


def output_of_states(cell, states):
    """A zoo cell's output read from its new states: [h, r] for the NTM, h for the others."""
    if isinstance(cell, NTMCell):
        return tf.concat([states[0], states[2]], axis=-1)
    return states[0]


def flow_penalty(layer, sequences, loss_of_outputs):
    """Omega (module docstring) of recurrent `layer` (a `keras.layers.RNN` over one cell,
    unmasked, from a zero state) reading `sequences` [batch, time, features];
    `loss_of_outputs(outputs)` is the training loss of what `layer` returns (its output
    sequence, or its last output) through the rest of the model. A float32 scalar whose
    gradient reaches the cell's weights."""
    cell = layer.cell
    sizes = [int(size) for size in tf.nest.flatten(cell.state_size)]
    steps = tf.shape(sequences)[1]
    batch = tf.shape(sequences)[0]
    inputs = tf.transpose(sequences, (1, 0, 2))  # [time, batch, features]
    if layer.go_backwards:
        inputs = inputs[::-1]
    initial = tf.zeros((batch, sum(sizes)), sequences.dtype)
    probes = tf.zeros((steps, batch, sum(sizes)), sequences.dtype)

    with tf.GradientTape() as probe_tape:
        probe_tape.watch(probes)

        def step(t, flat_state, outputs, states):
            _, new_states = cell(inputs[t], _split(flat_state, sizes), training=True)
            new_flat = _flat(tf.nest.flatten(new_states)) + probes[t]
            output = output_of_states(cell, _split(new_flat, sizes))
            return t + 1, new_flat, outputs.write(t, output), states.write(t, new_flat)

        _, _, outputs, states = tf.while_loop(
            lambda t, *_: t < steps, step,
            (tf.constant(0), initial, tf.TensorArray(sequences.dtype, steps),
             tf.TensorArray(sequences.dtype, steps)))
        outputs = tf.transpose(outputs.stack(), (1, 0, 2))
        loss = loss_of_outputs(outputs if layer.return_sequences else outputs[:, -1])
    states = states.stack()  # [time, batch, state]: s_1..s_T
    gradients = tf.stop_gradient(probe_tape.gradient(loss, probes))  # g_1..g_T

    previous = tf.stop_gradient(tf.concat([initial[None], states[:-1]], axis=0))  # s_0..s_{T-1}
    rows = lambda tensor: tf.reshape(tensor, (-1, tensor.shape[-1]))
    with tf.GradientTape() as step_tape:
        flat_previous = rows(previous)
        step_tape.watch(flat_previous)
        _, following = cell(rows(inputs), _split(flat_previous, sizes), training=True)
        following = _flat(tf.nest.flatten(following))
    carried = step_tape.gradient(following, flat_previous, output_gradients=rows(gradients))
    back_norm = tf.norm(carried, axis=-1)
    norm = tf.norm(rows(gradients), axis=-1)
    terms = tf.where(norm > 0, tf.square(back_norm / tf.where(norm > 0, norm, 1.0) - 1.0), 0.0)
    return tf.reduce_sum(terms) / tf.cast(batch, terms.dtype)


def recurrent_layer(model):
    """The one `keras.layers.RNN` of `model`; ValueError where there is none or several."""
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]
    if len(layers) != 1:
        raise ValueError(f"the flow penalty takes a model with one recurrent layer; {model.name} has "
                         f"{len(layers)}")
    return layers[0]
