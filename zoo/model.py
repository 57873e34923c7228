"""A token language model: embedding, a stack of zoo cells, a softmax output layer.

The model is a pure function of (token ids, recurrent state): it takes every layer's
state as inputs and returns the new states beside the logits, so whoever calls it (the
TBPTT trainer, the sampler, an export signature) carries the state and the model holds
none.

    logits, *new_state = model([token_ids, *state])
    token_ids [batch, time] int32;  logits [batch, time, vocab];
    state: per layer, its cell's tensors ([h] or [h, c]), each [batch, units]
"""

import keras
import numpy as np
from keras import ops

from zoo.cells import make_cell
from zoo.recurrent_layer import RecurrentLayer


def build_language_model(vocab_size, cell, units, layers, embedding_dim, dropout=0.0, seed=0,
                         fused=True, embedding_initializer="uniform", name="language_model"):
    """A functional Keras model (see the module docstring).

    Args:
        vocab_size: Number of token ids (output classes).
        cell: A name in `zoo.cells.CELLS` ("lstm", "gru", "elman", "leaky", "reservoir").
        units: Hidden size of every layer.
        layers: Number of stacked recurrent layers.
        embedding_dim: Size of the token embedding.
        dropout: Variational dropout on each layer's input, and dropout before the output
            layer.
        seed: Seed of the dropout masks.
        fused: Let the recurrent layers run their fused pass (`zoo.recurrent_layer`);
            False runs the cells step by step (same results, slower).
        embedding_initializer: Initializer of the embedding table (Keras' default,
            "uniform", is U(-0.05, 0.05)).
        name: The Keras model's name.
    """
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    state_inputs, state_outputs = [], []
    hidden = keras.layers.Embedding(vocab_size, embedding_dim, embeddings_initializer=embedding_initializer,
                                    name="embedding")(token_ids)
    for layer in range(layers):
        rnn_cell = make_cell(cell, units, dropout, seed + layer, name=f"{cell}_cell_{layer}")
        layer_state = [keras.Input((size,), name=f"state_{layer}_{part}")
                       for part, size in zip("hc", rnn_cell.state_size)]
        hidden, *new_state = RecurrentLayer(
            rnn_cell, fused=fused, return_sequences=True, return_state=True, name=f"rnn_{layer}"
        )(hidden, initial_state=layer_state)
        state_inputs += layer_state
        state_outputs += new_state
    if dropout:
        hidden = keras.layers.Dropout(dropout, seed=seed + layers, name="output_dropout")(hidden)
    logits = keras.layers.Dense(vocab_size, name="logits")(hidden)
    return keras.Model([token_ids, *state_inputs], [logits, *state_outputs], name=name)


def zero_state(model, batch_size):
    """The model's initial recurrent state: zeros for every state input, float32 NumPy
    arrays (eager callers pass NumPy ids beside them)."""
    return [np.zeros((batch_size, spec.shape[-1]), dtype=np.float32) for spec in model.inputs[1:]]


def zero_state_in_graph(model, batch):
    """`zero_state` as tensors, for a graph whose batch is a tensor (served signatures,
    traced samplers)."""
    return [ops.zeros((batch, spec.shape[-1]), dtype="float32") for spec in model.inputs[1:]]


def full_precision(logits):
    """`logits` cast to float32 if narrower (a mixed-precision model's bfloat16), for the
    loss: a sum over a window in bfloat16 keeps about 3 significant digits."""
    if keras.backend.standardize_dtype(logits.dtype) in ("bfloat16", "float16"):
        return ops.cast(logits, "float32")
    return logits
