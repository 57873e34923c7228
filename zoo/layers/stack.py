"""Stacks of zoo recurrent layers, and the carried state of a stack that takes its state
as inputs.

Every model builder makes its recurrent layers here: `recurrent_layer` pairs a new
`zoo.cells.make_cell` cell with the `RecurrentLayer` that runs it (a fused pass where the
maths match). `forward_stack` runs a stack of forward layers, layer l named `rnn_{l}`
over the cell `{cell}_cell_{l}` with dropout seed `seed + l`; with `carry_state` each
layer reads its initial state from new model inputs `state_{l}_{h|c}` and hands its
final state out, so the model is a pure function of (inputs, state) and whoever calls it
carries the state:

    hidden, state_inputs, state_outputs = forward_stack(x, "lstm", 256, 2, carry_state=True)
    model = keras.Model([x, *state_inputs], [head(hidden), *state_outputs])
    zero_state(model, batch)      zeros for every state input, in their order

`masked_stack` runs a stack over padded, masked sequences, one or both directions per
layer (the classifier and the tagger), layer l's directions named `rnn_{l}_forward` /
`rnn_{l}_backward` over the cells `{cell}_cell_{l}_{direction}`:

    f_t = forward cell over x_l[0..t],   b_t = backward cell over x_l[L-1..t]
    y_l = f (one direction), [f, b] (merge "concat") or f + b (merge "sum")
    x_{l+1} = y_l + x_l for l >= 1 with residual (a skip connection), else y_l
"""

import keras
import numpy as np
from keras import Input, ops

from zoo.cells import make_cell
from zoo.layers.recurrent import RecurrentLayer

MERGES = ("concat", "sum")


def recurrent_layer(cell, units, dropout=0.0, seed=0, name=None, cell_name=None, fused=True,
                    cell_options=None, **layer_options):
    """A `RecurrentLayer` named `name` running a new `make_cell(cell, units, dropout, seed)`
    cell named `cell_name` (with the cell's own `cell_options`); `layer_options` are the
    layer's (`return_sequences`, `return_state`, `go_backwards`)."""
    rnn_cell = make_cell(cell, units, dropout, seed, name=cell_name, **(cell_options or {}))
    return RecurrentLayer(rnn_cell, fused=fused, name=name, **layer_options)


def forward_stack(hidden, cell, units, layers, dropout=0.0, seed=0, fused=True, cell_options=None,
                  carry_state=False, last_returns_sequences=True):
    """`hidden` [batch, time, width] through `layers` forward layers (module docstring).

    Returns (the top layer's outputs, state inputs, state outputs); the state lists are
    empty unless `carry_state`. The top layer returns its last output only when
    `last_returns_sequences` is False.
    """
    state_inputs, state_outputs = [], []
    for layer in range(layers):
        sequences = last_returns_sequences or layer < layers - 1
        rnn = recurrent_layer(cell, units, dropout, seed + layer, name=f"rnn_{layer}",
                              cell_name=f"{cell}_cell_{layer}", fused=fused, cell_options=cell_options,
                              return_sequences=sequences, return_state=carry_state)
        if not carry_state:
            hidden = rnn(hidden)
            continue
        hidden, layer_state, new_state = with_carried_state(rnn, hidden, layer)
        state_inputs += layer_state
        state_outputs += new_state
    return hidden, state_inputs, state_outputs


def masked_stack(hidden, mask, cell, units, layers, bidirectional=False, merge="concat", residual=False,
                 dropout=0.0, seed=0, fused=True):
    """`hidden` [batch, time, width] through `layers` masked layers (module docstring).

    Returns (x_layers, the top layer's forward outputs, its backward outputs in input
    order or None, the top layer's skip input or None). Layer l's directions draw their
    dropout masks from seeds `seed + 2l` and `seed + 2l + 1`.
    """
    backward = skip = None
    for layer in range(layers):
        def recurrent(direction, backwards, offset, layer=layer):
            return recurrent_layer(cell, units, dropout, seed + 2 * layer + offset, name=f"rnn_{layer}_{direction}",
                                   cell_name=f"{cell}_cell_{layer}_{direction}", fused=fused,
                                   return_sequences=True, go_backwards=backwards)

        if bidirectional:
            # merge_mode=None: both directions, the backward one flipped back to input order.
            forward, backward = keras.layers.Bidirectional(
                recurrent("forward", False, 0), backward_layer=recurrent("backward", True, 1),
                merge_mode=None, name=f"bidirectional_{layer}")(hidden, mask=mask)
            merged = (keras.layers.Concatenate(name=f"concat_{layer}")([forward, backward])
                      if merge == "concat" else keras.layers.Add(name=f"sum_{layer}")([forward, backward]))
        else:
            forward = merged = recurrent("forward", False, 0)(hidden, mask=mask)
        skip = hidden if residual and layer >= 1 else None
        hidden = merged if skip is None else keras.layers.Add(name=f"residual_{layer}")([merged, skip])
    return hidden, forward, backward, skip


def with_carried_state(rnn, hidden, layer):
    """`hidden` through `rnn` (built with `return_state`) from new state inputs
    `state_{layer}_{h|c}`: (outputs, the state inputs, the final states)."""
    layer_state = [Input((size,), name=f"state_{layer}_{part}") for part, size in zip("hc", rnn.cell.state_size)]
    hidden, *new_state = rnn(hidden, initial_state=layer_state)
    return hidden, layer_state, new_state


def zero_state(model, batch_size):
    """The initial state of a model built with `carry_state`: zeros for every state input
    (`model.inputs[1:]`), float32 NumPy arrays (eager callers pass NumPy ids beside them)."""
    return [np.zeros((batch_size, spec.shape[-1]), dtype=np.float32) for spec in model.inputs[1:]]


def zero_state_in_graph(model, batch):
    """`zero_state` as tensors, for a graph whose batch is a tensor (served signatures,
    traced samplers)."""
    return [ops.zeros((batch, spec.shape[-1]), dtype="float32") for spec in model.inputs[1:]]
