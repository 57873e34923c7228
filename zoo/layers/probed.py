"""The cell loop with a zero probe added to every step's state, so that a loss's gradient
with respect to the probes is dL/ds_t (what the information-flow regulariser of
`zoo.training.flow_penalty` needs, and the fused passes do not expose).

Inside `probing_states()`, every `RecurrentLayer` call runs

    s_t = where(mask_t, cell(x_t, s_{t-1}), s_{t-1}) + p_t,     p_t = 0,   t = 1..T
    output_t = the cell's output read from s_t (`output_of_states`)

from the initial state it is given (TBPTT's carried state, a decoder's encoder state),
in the order `go_backwards` asks, with the input dropout mask applied to all steps at
once, as the fused passes apply it. A masked step keeps the state and its output is the
last taken step's (zeros before the first, or with `zero_output_for_mask`), as
`keras.layers.RNN` gives them. Each call leaves a `ProbedSteps` record; the probes are
watched by the recording's tape.

All of a zoo cell's state tensors are [batch, size] (the NTM's memory is flattened), so
s_t is their concatenation.
"""

import contextlib
import contextvars
import dataclasses

from zoo.cells.ntm import NTMCell

# TensorFlow is imported inside the functions: only the TensorFlow backend reaches them,
# and `zoo.layers.recurrent` (which imports this module) also runs with only JAX or
# PyTorch installed.

_recording = contextvars.ContextVar("probing_states", default=None)


@dataclasses.dataclass
class ProbedSteps:
    """One recurrent layer call under `probing_states`, in the order its steps were taken."""

    cell: object
    inputs: object         # [time, batch, features] x_1..x_T, input dropout applied
    previous: object       # [time, batch, state]    s_0..s_{T-1}
    probes: object         # [time, batch, state]    p_1..p_T (zeros)
    taken: object          # [time, batch] bool      the steps the mask takes
    sizes: list            # the widths of the cell's state tensors within s


class Recording:
    """The tape that watches the probes, and the records of the layer calls made under it."""

    def __init__(self, tape):
        self.tape = tape
        self.records = []


@contextlib.contextmanager
def probing_states(tape):
    """Within this context recurrent layers run `probed_loop`, watched by `tape`; yields
    the `Recording` whose `records` they fill."""
    recording = Recording(tape)
    token = _recording.set(recording)
    try:
        yield recording
    finally:
        _recording.reset(token)


def recording():
    """The active `Recording`, or None outside `probing_states`."""
    return _recording.get()


def output_of_states(cell, states):
    """A zoo cell's output read from its new states: [h, r] for the NTM, h for the others."""
    import tensorflow as tf

    if isinstance(cell, NTMCell):
        return tf.concat([states[0], states[2]], axis=-1)
    return states[0]


def flat_states(states):
    import tensorflow as tf

    return tf.concat([tf.reshape(s, (tf.shape(s)[0], -1)) for s in states], axis=-1)


def split_states(flat, sizes):
    import tensorflow as tf

    return list(tf.split(flat, sizes, axis=-1))


def cell_step(cell, inputs, previous, taken, sizes):
    """s_t = where(taken, cell(x_t, s_{t-1}), s_{t-1}) on flat states (rows of a batch)."""
    import tensorflow as tf

    _, following = cell(inputs, split_states(previous, sizes), training=False)
    return tf.where(taken[:, None], flat_states(tf.nest.flatten(following)), previous)


def probed_loop(layer, sequences, initial_state, mask, training):
    """`layer.inner_loop` (last output, outputs in step order, final states) by the probed
    cell loop of the module docstring; records the call in the active `Recording`."""
    import tensorflow as tf

    cell = layer.cell
    if getattr(cell, "recurrent_dropout", 0):
        raise ValueError("the flow penalty's probed loop takes no recurrent dropout (its mask is drawn per "
                         f"step inside the cell); {layer.name} has recurrent_dropout={cell.recurrent_dropout}")
    sizes = [int(size) for size in tf.nest.flatten(cell.state_size)]
    inputs = tf.transpose(layer._dropped_out(sequences, training), (1, 0, 2))  # [time, batch, features]
    steps, batch = tf.shape(inputs)[0], tf.shape(inputs)[1]
    taken = tf.ones((steps, batch), tf.bool) if mask is None else tf.transpose(tf.cast(mask, tf.bool))
    if layer.go_backwards:
        inputs, taken = inputs[::-1], taken[::-1]
    initial = flat_states(tf.nest.flatten(initial_state))
    probes = tf.zeros((steps, batch, sum(sizes)), initial.dtype)
    active = recording()
    active.tape.watch(probes)

    def step(t, state, outputs, previous):
        new_state = cell_step(cell, inputs[t], state, taken[t], sizes) + probes[t]
        output = output_of_states(cell, split_states(new_state, sizes))
        return t + 1, new_state, outputs.write(t, output), previous.write(t, state)

    _, final, outputs, previous = tf.while_loop(
        lambda t, *_: t < steps, step,
        (tf.constant(0), initial, tf.TensorArray(initial.dtype, steps), tf.TensorArray(initial.dtype, steps)))
    active.records.append(ProbedSteps(cell, inputs, previous.stack(), probes, taken, sizes))
    outputs = tf.transpose(outputs.stack(), (1, 0, 2))
    if mask is not None:
        shown = taken if layer.zero_output_for_mask else tf.cumsum(tf.cast(taken, tf.int32), axis=0) > 0
        outputs = tf.where(tf.transpose(shown)[:, :, None], outputs, tf.zeros_like(outputs))
    return outputs[:, -1], outputs, split_states(final, sizes)
