"""`keras.layers.RNN` for the zoo cells, running a fused kernel or pass where it can.

The zoo model builds its recurrent layers from this class. A call takes the first of
these that applies, and falls back to the next:

1. The backend's own fused kernel, exactly as `keras.layers.LSTM` / `GRU` take it: an
   `LSTMCell` or a `GRUCell` with the maths the kernel computes (tanh / sigmoid, a bias,
   a GRU with `reset_after=True`), no recurrent dropout and no mask. TensorFlow runs
   cuDNN on a GPU; JAX runs cuDNN for the LSTM on a GPU and a `lax.scan` GRU; PyTorch
   runs cuDNN on a GPU. The zoo cells keep Keras' weight layout, so the kernel reads
   their weights unchanged. Where the backend has no such kernel (TensorFlow or PyTorch
   on a CPU, say) this step is skipped.
2. A sequence of one step without a mask (generation, serving's `step`): the cell,
   called once. The fused pass's setup (reordered weight copies, stacking) would cost
   more than the step.
3. On TensorFlow, a fused whole-sequence pass from `zoo.fused` (tanh / sigmoid; a GRU
   with `reset_after=True`; any Elman, leaky, reservoir or Clockwork cell; no recurrent dropout;
   a time length known when the graph is built, at most `MAX_FUSED_STEPS`): one input
   projection for all steps and a hand-written backward pass (see `zoo.fused.plan`),
   over the whole batch or over row groups side by side (`zoo.fused.schedule`).
   It takes masks and `go_backwards` with Keras' semantics: a masked step keeps the
   state it had, and its output is the last output of a step taken (zeros before the
   first one, or with `zero_output_for_mask`); a backward layer reads the whole padded
   sequence reversed, as `keras.layers.RNN` does, so with right padding it starts at
   each row's last valid step.
4. Anywhere else, the cell step by step, as `keras.layers.RNN` runs it.

Inside `zoo.layers.probed.probing_states()` (the flow penalty's loss) every call runs the
probed cell loop instead.

All of them compute the same function, to float rounding; the input dropout mask is the
cell's own, so every path draws the same masks.

A graph traced with a cuDNN kernel holds a GPU-only op that XLA cannot compile. Graphs
meant for other machines (the serving export) and XLA-compiled training steps are traced
inside `portable_kernels()`, which skips step 1.
"""

import contextlib
import contextvars

import keras
from keras import activations, ops

# The backends' fused RNN kernels (`lstm`, `gru`) that keras.layers.LSTM / GRU call;
# they are not exported under keras.backend.
from keras.src import backend as keras_backend

from zoo.cells import ClockworkCell, ElmanCell, GRUCell, LeakyCell, LSTMCell, ReservoirCell
from zoo.layers.probed import probed_loop, recording

# The fused pass unrolls the sequence into the graph; longer windows use the cell loop so
# graphs (and the time to build them) stay bounded.
MAX_FUSED_STEPS = 512

_portable = contextvars.ContextVar("portable_kernels", default=False)


@contextlib.contextmanager
def portable_kernels():
    """Within this context the layers skip the backend kernels (cuDNN) and the fused
    passes the compiled step kernels (`zoo.fused.native`): graphs traced here hold core
    TensorFlow ops only, so they run on any device, as a SavedModel served by TensorFlow
    Serving must, and compile with XLA."""
    from zoo.fused.native import tf_ops_only  # imports no TensorFlow

    token = _portable.set(True)
    try:
        with tf_ops_only():
            yield
    finally:
        _portable.reset(token)


def _fused_sequence(cell):
    """The `zoo.fused` sequence computing `cell`'s maths, or None.

    Each is called as `sequence(x, *state, *_fused_weights(cell))`. Dispatch is
    on the exact class: a subclass (a leaky cell derived from `ElmanCell`, say) changes
    the maths, and must not inherit its parent's fused pass.
    """
    # Imported here: `zoo.fused` is TensorFlow code, and the zoo also runs on machines
    # with only JAX or PyTorch installed.
    from zoo.fused.clockwork import clockwork_sequence
    from zoo.fused.elman import elman_sequence
    from zoo.fused.gru import gru_sequence
    from zoo.fused.leaky import leaky_sequence
    from zoo.fused.lstm import lstm_sequence

    tanh, sigmoid = activations.get("tanh"), activations.get("sigmoid")
    kind = type(cell)
    if kind is ClockworkCell:
        return clockwork_sequence  # tanh always, no dropout
    if kind not in (LSTMCell, GRUCell, ElmanCell, LeakyCell, ReservoirCell):
        return None  # the NTM cell runs the cell loop
    if cell.activation is not tanh or cell.recurrent_dropout:
        return None
    if kind is LSTMCell and cell.recurrent_activation is sigmoid:
        return lstm_sequence
    if kind is GRUCell and cell.recurrent_activation is sigmoid and cell.reset_after:
        return gru_sequence
    if kind is ElmanCell:
        return elman_sequence
    if kind in (LeakyCell, ReservoirCell):
        return leaky_sequence
    return None


def _fused_weights(cell, dtype):
    """The weights `cell`'s fused sequence takes after the state, as tensors.

    Read from the variables here: a variable read inside a tf.custom_gradient function
    would need a gradient of its own. A cell without a bias runs with a zero one.
    """
    import tensorflow as tf  # only the TensorFlow backend gets here

    if type(cell) is ClockworkCell:
        return [tf.convert_to_tensor(w) for w in (cell.kernel, cell.recurrent_kernel, cell.bias)] + [
            tf.cast(cell.recurrent_mask, dtype), tf.constant(cell.unit_periods(), dtype)]
    bias = cell.bias if cell.use_bias else tf.zeros(cell.bias_shape(), dtype)
    weights = [tf.convert_to_tensor(w) for w in (cell.kernel, cell.recurrent_kernel, bias)]
    if type(cell) in (LeakyCell, ReservoirCell):
        weights.append(cell.leak_rates())
    return weights


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentLayer(keras.layers.RNN):
    """`keras.layers.RNN` over one zoo cell, with the fused paths described above.

    Args:
        cell: A zoo cell (one of `zoo.cells.CELLS`).
        fused: Use a fused kernel or pass where one applies (False: always the cell loop).
        **kwargs: Arguments of `keras.layers.RNN` (`return_sequences`, `return_state`, ...).

    Example:
        >>> layer = RecurrentLayer(zoo.LSTMCell(32), return_sequences=True)
        >>> layer(np.zeros((4, 10, 8))).shape
        (4, 10, 32)
    """

    def __init__(self, cell, fused=True, **kwargs):
        super().__init__(cell, **kwargs)
        self.fused = bool(fused)

    def has_fused_pass(self):
        """Whether calls with a known number of steps, at most `MAX_FUSED_STEPS`, take the
        `zoo.fused` pass (step 3 above)."""
        return self.fused and keras.backend.backend() == "tensorflow" and _fused_sequence(self.cell) is not None

    def runs_fused(self, sequences, mask=None):
        """Whether a call on `sequences` can take the `zoo.fused` pass (step 3 above)."""
        steps = sequences.shape[1]
        return self.has_fused_pass() and steps is not None and steps <= MAX_FUSED_STEPS

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if recording() is not None:  # the flow penalty's probed cell loop (zoo.layers.probed)
            return probed_loop(self, sequences, initial_state, mask, training)
        if not self.fused or getattr(self.cell, "recurrent_dropout", 0):  # NTM, Clockwork: none
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        if mask is None:
            result = self._backend_kernel(sequences, initial_state, training)
            if result is not None:
                return result
            if sequences.shape[1] == 1:
                # Step 2 above; the cell applies its own dropout mask.
                output, states = self.cell(sequences[:, 0], list(initial_state), training=training)
                return output, ops.expand_dims(output, 1), states
        if self.runs_fused(sequences, mask):
            return self._fused_pass(self._dropped_out(sequences, training), initial_state, mask)
        return super().inner_loop(sequences, initial_state, mask=mask, training=training)

    def _dropped_out(self, sequences, training):
        """`sequences` with the cell's input dropout mask for this sequence (drawn by
        `RNN.call`) on every step, as the cell applies it step by step."""
        if not (training and getattr(self.cell, "dropout", 0)):  # NTM, Clockwork: none
            return sequences
        return sequences * ops.expand_dims(self.cell.get_dropout_mask(sequences[:, 0, :]), 1)

    def _backend_kernel(self, sequences, initial_state, training):
        """The backend's fused LSTM / GRU kernel over the whole sequence (step 1 above), or
        None where the backend has none for this call."""
        cell = self.cell
        # The exact class, as in `_fused_sequence`.
        if _portable.get() or type(cell) not in (LSTMCell, GRUCell):
            return None
        sequences = self._dropped_out(sequences, training)
        arguments = dict(kernel=cell.kernel, recurrent_kernel=cell.recurrent_kernel, bias=cell.bias,
                         activation=cell.activation, recurrent_activation=cell.recurrent_activation,
                         return_sequences=self.return_sequences, go_backwards=self.go_backwards,
                         unroll=self.unroll)
        try:
            if type(cell) is LSTMCell:
                result = keras_backend.lstm(sequences, *initial_state, None, **arguments)
            else:
                result = keras_backend.gru(sequences, initial_state[0], None, reset_after=cell.reset_after,
                                           **arguments)
        except NotImplementedError:  # how the backends say "no kernel here"
            return None
        if keras.backend.backend() == "tensorflow":
            # cuDNN ops do not compile with XLA (as in keras.layers.LSTM).
            self.supports_jit = False
        return result

    def _fused_pass(self, sequences, initial_state, mask=None):
        """The `zoo.fused` sequence (step 3 above) on `sequences`, input dropout already
        applied: (last output, outputs, final states) as `keras.layers.RNN.inner_loop`
        gives them (outputs in the order the steps were taken)."""
        import tensorflow as tf

        if mask is not None:
            mask = tf.cast(mask, tf.bool)
        if self.go_backwards:
            sequences = tf.reverse(sequences, [1])
            mask = None if mask is None else tf.reverse(mask, [1])
        from zoo.fused.schedule import on_current_schedule

        weights = _fused_weights(self.cell, sequences.dtype)
        states, *final = on_current_schedule(_fused_sequence(self.cell), self.cell.units, sequences, initial_state,
                                             weights, mask)
        outputs = states  # h_t is each cell's output; a masked step's state is h_{t-1}
        if mask is not None:
            # A masked step's output: the last taken step's (zeros before the first taken
            # one), or zeros with zero_output_for_mask.
            taken = mask if self.zero_output_for_mask else tf.cumsum(tf.cast(mask, tf.int32), axis=1) > 0
            outputs = tf.where(taken[:, :, None], states, tf.zeros_like(states))
        return outputs[:, -1], outputs, final

    def get_config(self):
        return {**super().get_config(), "fused": self.fused}
