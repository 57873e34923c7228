"""Recurrent layers that take the arguments of `keras.layers.LSTM`, `GRU` and `SimpleRNN`,
so that a `model.fit` script swaps `keras.layers.LSTM(256, return_sequences=True)` for
`zoo.layers.LSTM(256, return_sequences=True)` and gets the zoo's fused passes.

Each class is `RecurrentLayer` over a new zoo cell built from the arguments, so the
layer runs the first path of `zoo.layers.recurrent` that applies (the backend kernel,
the fused pass, the cell loop). Keras' arguments keep Keras' defaults; the zoo's own
arguments keep the zoo cells' defaults, and two of them differ from the built-in layer:

| layer | argument | zoo default | built-in layer |
| --- | --- | --- | --- |
| `GRU` | `update_bias` | 1.0: z_0 = sigmoid(1), the state is mostly kept | 0.0 (zeros) |
| `LSTM` | `forget_bias` | 1.0, as `unit_forget_bias=True` sets it | 1.0 |
| `Leaky` | `leak` | 0.5 | (no built-in twin) |
| `Reservoir` | `seed` | 0: its fixed weights are drawn from it | (no built-in twin) |

`update_bias=0.0` gives the built-in GRU's start. The weights are the built-in layers'
(`kernel`, `recurrent_kernel`, `bias`, in Keras' layout and order), so
`zoo_layer.set_weights(keras_layer.get_weights())` copies a trained layer across and back.

`stateful=True` is refused: a Keras stateful layer keeps its state in a variable that
checkpoints miss and exports capture (see `zoo.training.stateful`), so the zoo carries
state in the trainer: `zoo.training.tbptt_fit`.
"""

import keras
from keras import regularizers

from zoo.cells import ElmanCell, GRUCell, LeakyCell, LSTMCell, ReservoirCell
from zoo.layers.recurrent import RecurrentLayer

# Arguments of the layer itself (keras.layers.Layer); every other argument is the cell's.
_LAYER_ARGUMENTS = ("name", "dtype", "trainable", "activity_regularizer", "autocast")
# The base layer's config entries, which the layer, not the cell, records.
_BASE_CONFIG = ("name", "trainable", "dtype")


class _DropInLayer(RecurrentLayer):
    """`RecurrentLayer` over a `cell_class` cell built from Keras-named arguments."""

    cell_class = None
    cell_name = None

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, fused=True, **kwargs):
        if stateful:
            raise ValueError(f"{type(self).__name__}: stateful=True is not supported; the zoo keeps "
                             "recurrent state out of the layers: carry it across batches with "
                             "zoo.training.tbptt_fit (docs/own_model.md)")
        layer_arguments = {key: kwargs.pop(key) for key in _LAYER_ARGUMENTS if key in kwargs}
        cell = self.cell_class(units, name=self.cell_name, dtype=layer_arguments.get("dtype"),
                               trainable=layer_arguments.get("trainable", True), **kwargs)
        super().__init__(cell, fused=fused, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, unroll=unroll, zero_output_for_mask=zero_output_for_mask,
                         **layer_arguments)

    @property
    def units(self):
        return self.cell.units

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = {key: value for key, value in self.cell.get_config().items() if key not in _BASE_CONFIG}
        return {**config, **cell_config,
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="zoo")
class LSTM(_DropInLayer):
    """`keras.layers.LSTM`'s arguments over `zoo.cells.LSTMCell` (equations there).

    Args:
        units: Positive integer, size of h and c.
        unit_forget_bias: Start the forget-gate bias b_f at `forget_bias` (Keras' argument;
            False leaves it to `bias_initializer`).
        forget_bias: The zoo's: b_f's start when `unit_forget_bias` (default 1.0, Keras' 1).
        fused: Take a fused kernel or pass where one applies.
        **kwargs: The other arguments of `keras.layers.LSTM` (`activation`,
            `recurrent_activation`, `use_bias`, initializers, regularizers, constraints,
            `dropout`, `recurrent_dropout`, `seed`, `return_sequences`, `return_state`,
            `go_backwards`, `unroll`), with Keras' defaults.

    Example:
        >>> layer = zoo.layers.LSTM(32, return_sequences=True)
        >>> layer(np.zeros((4, 10, 8))).shape
        (4, 10, 32)
    """

    cell_class = LSTMCell
    cell_name = "lstm_cell"

    def __init__(self, units, unit_forget_bias=True, forget_bias=1.0, **kwargs):
        self.unit_forget_bias = bool(unit_forget_bias)
        self.forget_bias = float(forget_bias)
        kwargs["forget_bias"] = self.forget_bias if self.unit_forget_bias else None
        super().__init__(units, **kwargs)

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias,
                "forget_bias": self.forget_bias}


@keras.saving.register_keras_serializable(package="zoo")
class GRU(_DropInLayer):
    """`keras.layers.GRU`'s arguments over `zoo.cells.GRUCell` (equations there).

    Args:
        units: Positive integer, size of h.
        reset_after: Apply the reset gate after the recurrent matmul (Keras' default True,
            the cuDNN form).
        update_bias: The zoo's: the update-gate bias b_z's start (default 1.0; the built-in
            GRU starts at 0.0).
        fused: Take a fused kernel or pass where one applies.
        **kwargs: The other arguments of `keras.layers.GRU`, with Keras' defaults.

    Example:
        >>> zoo.layers.GRU(32)(np.zeros((4, 10, 8))).shape
        (4, 32)
    """

    cell_class = GRUCell
    cell_name = "gru_cell"


@keras.saving.register_keras_serializable(package="zoo")
class Elman(_DropInLayer):
    """`keras.layers.SimpleRNN`'s twin: its arguments over `zoo.cells.ElmanCell`.

    Args:
        units: Positive integer, size of h.
        fused: Take the fused pass where it applies.
        **kwargs: The other arguments of `keras.layers.SimpleRNN`, with Keras' defaults.

    Example:
        >>> zoo.layers.Elman(32, return_sequences=True)(np.zeros((4, 10, 8))).shape
        (4, 10, 32)
    """

    cell_class = ElmanCell
    cell_name = "elman_cell"


@keras.saving.register_keras_serializable(package="zoo")
class Leaky(_DropInLayer):
    """Leaky-integrator units (`zoo.cells.LeakyCell`, equations there) as a layer.

    Args:
        units: Positive integer, size of h.
        leak: The leak rate a, a float or one per unit (default 0.5).
        trainable_leak: Whether a is learned.
        **kwargs: `keras.layers.SimpleRNN`'s arguments, with Keras' defaults.

    Example:
        >>> zoo.layers.Leaky(32, leak=zoo.time_scale_spread(32, 100))(np.zeros((4, 10, 8))).shape
        (4, 32)
    """

    cell_class = LeakyCell
    cell_name = "leaky_cell"


@keras.saving.register_keras_serializable(package="zoo")
class Reservoir(_DropInLayer):
    """An echo-state reservoir (`zoo.cells.ReservoirCell`, equations there) as a layer:
    fixed weights drawn from `seed`, so only the layers after it learn.

    Args:
        units: Positive integer, size of h.
        spectral_radius, connectivity, input_scaling, bias_scaling, leak, seed: The
            reservoir's (see `ReservoirCell`).
        **kwargs: `return_sequences`, `return_state`, `go_backwards`, `unroll`, `fused`.

    Example:
        >>> zoo.layers.Reservoir(100, spectral_radius=0.9)(np.zeros((4, 10, 1))).shape
        (4, 100)
    """

    cell_class = ReservoirCell
    cell_name = "reservoir_cell"
