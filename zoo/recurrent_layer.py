"""`keras.layers.RNN` for the zoo cells, running a fused whole-sequence pass where it can.

The zoo model builds its recurrent layers from this class. Where the cell's maths match a
fused sequence in `zoo.fused` (TensorFlow backend; tanh / sigmoid activations; a GRU with
`reset_after=True`; no recurrent dropout, no mask, not reversed; a time length known when
the graph is built, at most `MAX_FUSED_STEPS`), the layer runs that sequence: one input
projection for all steps and a hand-written backward pass (see `zoo.fused.layout`).
Anywhere else it runs the cell step by step, as `keras.layers.RNN` does. Both compute the
same function, to float rounding; the input dropout mask is the cell's own, so the two
paths draw the same masks.
"""

import keras
import tensorflow as tf
from keras import activations, ops

from zoo.cells import ElmanCell, GRUCell, LSTMCell
from zoo.fused.elman import elman_sequence
from zoo.fused.gru import gru_sequence
from zoo.fused.lstm import lstm_sequence

# The fused pass unrolls the sequence into the graph; longer windows use the cell loop so
# graphs (and the time to build them) stay bounded.
MAX_FUSED_STEPS = 512


def _fused_sequence(cell):
    """The fused sequence computing `cell`'s maths, or None.

    Each is called as `sequence(x, *state, kernel, recurrent_kernel, bias)`.
    """
    tanh, sigmoid = activations.get("tanh"), activations.get("sigmoid")
    if cell.activation is not tanh or cell.recurrent_dropout:
        return None
    if isinstance(cell, LSTMCell) and cell.recurrent_activation is sigmoid:
        return lstm_sequence
    if isinstance(cell, GRUCell) and cell.recurrent_activation is sigmoid and cell.reset_after:
        return gru_sequence
    if isinstance(cell, ElmanCell):
        return elman_sequence
    return None


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentLayer(keras.layers.RNN):
    """`keras.layers.RNN` over one zoo cell, with the fused pass described above.

    Args:
        cell: A zoo cell (`LSTMCell`, `GRUCell`, `ElmanCell`).
        fused: Use the fused pass where it applies (False: always the cell loop).
        **kwargs: Arguments of `keras.layers.RNN` (`return_sequences`, `return_state`, ...).

    Example:
        >>> layer = RecurrentLayer(zoo.LSTMCell(32), return_sequences=True)
        >>> layer(np.zeros((4, 10, 8))).shape
        (4, 10, 32)
    """

    def __init__(self, cell, fused=True, **kwargs):
        super().__init__(cell, **kwargs)
        self.fused = bool(fused)

    def runs_fused(self, sequences, mask=None):
        """Whether a call on `sequences` takes the fused pass."""
        steps = sequences.shape[1]
        return (self.fused and keras.backend.backend() == "tensorflow" and mask is None
                and not self.go_backwards and steps is not None and steps <= MAX_FUSED_STEPS
                and _fused_sequence(self.cell) is not None)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.runs_fused(sequences, mask):
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        if training and self.cell.dropout:
            # The cell's mask for this sequence (drawn by `RNN.call`), on every step.
            sequences = sequences * ops.expand_dims(self.cell.get_dropout_mask(sequences[:, 0, :]), 1)
        # Read the variables into tensors here: a variable read inside a
        # tf.custom_gradient function would need a gradient of its own.
        # A cell without a bias runs with a zero one.
        bias = self.cell.bias if self.cell.use_bias else tf.zeros(self.cell.bias_shape(), sequences.dtype)
        weights = [tf.convert_to_tensor(w) for w in (self.cell.kernel, self.cell.recurrent_kernel, bias)]
        outputs, *states = _fused_sequence(self.cell)(sequences, *initial_state, *weights)
        return outputs[:, -1], outputs, states

    def get_config(self):
        return {**super().get_config(), "fused": self.fused}
