"""The long-range model: a stack of zoo cells over a synthetic task's sequences and a
linear readout (`zoo.data.synthetic`: adding, copy, temporal order).

    outputs = readout(h_T)        one answer per sequence (adding: a number; order: a class)
    outputs = readout(h_t), all t (copy: a symbol per step)
"""

import keras

from zoo.layers.stack import forward_stack


def build_long_range_model(features, outputs, cell, units, layers, per_step, seed=0, cell_options=None,
                           fused=True, name="long_range"):
    """A functional Keras model: sequences [batch, time, features] -> outputs [batch, outputs],
    or [batch, time, outputs] where `per_step`; the readout layer is named "readout" (a
    closed-form rule assigns its weights). `fused`: let the recurrent layers run their
    fused pass (False: the cell loop)."""
    sequences = keras.Input((None, features), name="sequences")
    hidden, _, _ = forward_stack(sequences, cell, units, layers, 0.0, seed, fused, cell_options=cell_options,
                                 last_returns_sequences=per_step)
    return keras.Model(sequences, keras.layers.Dense(outputs, name="readout")(hidden), name=name)
