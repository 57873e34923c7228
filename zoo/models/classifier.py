"""A many-to-one sequence classifier: a stack of zoo cells, one or both directions per
layer, pooled over each sequence's valid steps into class logits.

    logits = model([sequences, lengths])
    sequences [batch, time, features] float32 (or token ids [batch, time] int32),
    lengths [batch] int32: row b's steps 0..lengths[b]-1 are real, the rest padding.

Padding is masked end to end: the recurrent layers take the mask (a masked step keeps
its state, `zoo.layers.recurrent`), and the pooling reads valid steps only, so padding a
sequence further changes nothing. The layers are `zoo.layers.stack.masked_stack` over
x_0, the (standardised or embedded) input, and the pooled vector over t < L
(Goodfellow et al., Deep Learning, 10.3 and 10.5):

    last       y at t = L - 1; a bidirectional top layer gives merge(f_{L-1}, b_0), each
               direction's final output (plus, with --residual, its input at L - 1)
    mean       sum_t y_t / L
    max        max_t y_t per feature
    attention  sum_t a_t y_t,  a = softmax_t(v . tanh(W y_t + c)), padded steps a_t = 0
"""

import keras
from keras import ops

from zoo.layers.masks import StepMask, last_valid_step
from zoo.layers.pooling import MaskedPooling
from zoo.layers.stack import MERGES, masked_stack

POOLS = ("last", "mean", "max", "attention")


def build_sequence_classifier(classes, cell="lstm", units=64, layers=1, bidirectional=False,
                              merge="concat", residual=False, pool="mean", dropout=0.0, seed=0,
                              features=None, vocab_size=None, embedding_dim=32, mean=None,
                              variance=None, fused=True, name="sequence_classifier"):
    """A functional Keras model (see the module docstring); give `features` for float
    sequences, or `vocab_size` for token ids (0 the padding id).

    Args:
        classes: Number of classes (logits).
        cell, units, layers: The zoo cell (`zoo.cells.CELLS`), its hidden size, the stack's depth.
        bidirectional: A forward and a reversed pass per layer, merged by `merge`.
        merge: "concat" or "sum".
        residual: Skip connections from each layer's input to its output, from the second
            layer on (the first changes the width).
        pool: One of POOLS.
        dropout: Variational dropout on each layer's input, and dropout before the output.
        seed: Seed of the dropout masks.
        features: Features per step of float sequences.
        vocab_size, embedding_dim: The token embedding of text (ids 1..vocab_size-1).
        mean, variance: Per-feature statistics; float sequences are standardised with them
            inside the model (None: no standardisation).
        fused: Let the recurrent layers run their fused pass (False: the cell loop).
        name: The Keras model's name.
    """
    if pool not in POOLS or merge not in MERGES:
        raise ValueError(f"pool must be one of {POOLS} and merge one of {MERGES}")
    if (features is None) == (vocab_size is None):
        raise ValueError("give exactly one of features (float sequences) and vocab_size (token ids)")
    if features is not None:
        sequences = keras.Input((None, features), name="sequences")
        hidden = sequences
        if mean is not None:
            hidden = keras.layers.Normalization(mean=mean, variance=variance, name="standardise")(hidden)
    else:
        sequences = keras.Input((None,), dtype="int32", name="token_ids")
        hidden = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(sequences)
    lengths = keras.Input((), dtype="int32", name="lengths")
    mask = StepMask(name="step_mask")(sequences, lengths)

    hidden, forward, backward, skip = masked_stack(hidden, mask, cell, units, layers, bidirectional, merge,
                                                   residual, dropout, seed, fused)
    if pool == "last":
        ends = [last_valid_step(forward, lengths)]
        if bidirectional:
            ends.append(backward[:, 0])  # the backward direction ends at step 0
            ends = [ops.concatenate(ends, axis=-1) if merge == "concat" else ends[0] + ends[1]]
        pooled = ends[0] if skip is None else ends[0] + last_valid_step(skip, lengths)
    else:
        pooled = MaskedPooling(pool, name="pool")(hidden, mask)
    if dropout:
        pooled = keras.layers.Dropout(dropout, seed=seed + 2 * layers, name="output_dropout")(pooled)
    logits = keras.layers.Dense(classes, name="logits")(pooled)
    return keras.Model([sequences, lengths], logits, name=name)
