"""A token language model: embedding, a stack of zoo cells, a softmax output layer.

The model is a pure function of (token ids, recurrent state): it takes every layer's
state as inputs and returns the new states beside the logits, so whoever calls it (the
TBPTT rule, the sampler, an export signature) carries the state and the model holds
none.

    logits, *new_state = model([token_ids, *state])
    token_ids [batch, time] int32;  logits [batch, time, vocab];
    state: per layer, its cell's tensors ([h] or [h, c]), each [batch, units]
"""

import keras

from zoo.layers.stack import forward_stack


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
        hidden = keras.layers.Dropout(dropout, seed=seed + layers, name="output_dropout")(hidden)
    logits = keras.layers.Dense(vocab_size, name="logits")(hidden)
    return keras.Model([token_ids, *state_inputs], [logits, *state_outputs], name=name)
