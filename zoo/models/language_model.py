"""A token language model: embedding, a stack of zoo cells, a softmax output layer.

The model is a pure function of (token ids, recurrent state): it takes every layer's
state as inputs and returns the new states beside the logits, so whoever calls it (the
TBPTT rule, the sampler, an export signature) carries the state and the model holds
none.

    logits, *new_state = model([token_ids, *state])
    token_ids [batch, time] int32;  logits [batch, time, vocab];
    state: per layer, its cell's tensors ([h] or [h, c]), each [batch, units]

`build_language_model` makes the recipes' stack from a cell name;
`language_model_from_layers` wraps a user's own recurrent layers (`zoo.layers.LSTM`,
`keras.layers.GRU`, ...) in the same contract, for `zoo.training.tbptt_fit`.
"""

import keras

from zoo.layers.row_window import WindowedDropout
from zoo.layers.stack import forward_stack, with_carried_state


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
        fused: Let the recurrent layers run their fused pass (`zoo.layers.recurrent`);
            False runs the cells step by step (same results, slower).
        embedding_initializer: Initializer of the embedding table (Keras' default,
            "uniform", is U(-0.05, 0.05)).
        name: The Keras model's name.
    """
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    hidden = keras.layers.Embedding(vocab_size, embedding_dim, embeddings_initializer=embedding_initializer,
                                    name="embedding")(token_ids)
    hidden, state_inputs, state_outputs = forward_stack(hidden, cell, units, layers, dropout, seed, fused,
                                                        carry_state=True)
    if dropout:
        hidden = WindowedDropout(dropout, seed=seed + layers, name="output_dropout")(hidden)
    logits = keras.layers.Dense(vocab_size, name="logits")(hidden)
    return keras.Model([token_ids, *state_inputs], [logits, *state_outputs], name=name)


def language_model_from_layers(vocab_size, recurrent_layers, embedding_dim, name="language_model"):
    """The contract above around a user's stack: an embedding, `recurrent_layers` bottom
    first, a `logits` Dense layer.

    Args:
        vocab_size: Number of token ids (output classes).
        recurrent_layers: Recurrent layers not yet called (`zoo.layers.LSTM(256)`, or a
            Keras built-in one); each is rebuilt from its config with `return_sequences`
            and `return_state`, so that its state is an input and an output of the model.
        embedding_dim: Size of the token embedding.
        name: The Keras model's name.

    Example:
        >>> model = language_model_from_layers(96, [zoo.layers.LSTM(64), zoo.layers.GRU(32)], 16)
        >>> [spec.name for spec in model.inputs]  # the LSTM's h and c, the GRU's h
        ['token_ids', 'state_0_h', 'state_0_c', 'state_1_h']
    """
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    hidden = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(token_ids)
    state_inputs, state_outputs = [], []
    for index, layer in enumerate(recurrent_layers):
        hidden, layer_state, new_state = with_carried_state(_returning_state(layer), hidden, index)
        state_inputs += layer_state
        state_outputs += new_state
    logits = keras.layers.Dense(vocab_size, name="logits")(hidden)
    return keras.Model([token_ids, *state_inputs], [logits, *state_outputs], name=name)


def _returning_state(layer):
    """A new `layer` of the same config that returns its sequences and its final state."""
    if not isinstance(layer, keras.layers.RNN):
        raise ValueError(f"language_model_from_layers: {layer!r} is not a recurrent layer "
                         "(keras.layers.RNN or a subclass)")
    if layer.built or getattr(layer, "stateful", False):
        raise ValueError(f"language_model_from_layers: layer {layer.name!r} is "
                         f"{'stateful' if layer.stateful else 'already built'}; pass new, non-stateful "
                         "layers (the trainer carries the state)")
    return type(layer).from_config({**layer.get_config(), "return_sequences": True, "return_state": True})
