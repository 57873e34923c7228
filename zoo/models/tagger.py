"""A sequence tagger: one label per step from a stack of zoo cells, one or both
directions per layer, and one softmax per head (label set).

    logits = model([token_ids, lengths])      a list, one [batch, time, labels_h] per head
    token_ids [batch, time] int32 (0 padding), lengths [batch] int32

The bidirectional network of Goodfellow et al., Deep Learning, 10.3: the output at step t
sees the whole sequence, its past through the forward direction and its future through
the backward one,

    e_t = E[token_t]                         (a word embedding)
    y_t = masked_stack(e)_t                  (`zoo.layers.stack.masked_stack`)
    o_t^h = W_h y_t + c_h,  p(label_t^h | x) = softmax(o_t^h)

Padding is masked end to end (a masked step keeps each direction's state, and the
backward direction starts at each row's last real step), so padding a sequence further
changes no output at its real steps.
"""

import keras

from zoo.layers.masks import StepMask
from zoo.layers.stack import masked_stack


def build_tagger(head_sizes, vocab_size, embedding_dim=64, cell="lstm", units=64, layers=2,
                 bidirectional=True, merge="concat", residual=False, dropout=0.0, seed=0, fused=True,
                 head_names=None, name="tagger"):
    """A functional Keras model (see the module docstring).

    Args:
        head_sizes: Labels per head, one softmax layer each.
        vocab_size, embedding_dim: The word embedding (id 0 padding).
        cell, units, layers: The zoo cell (`zoo.cells.CELLS`), its hidden size per
            direction, the stack's depth.
        bidirectional, merge, residual: As in `zoo.layers.stack.masked_stack`.
        dropout: Variational dropout on each layer's input, and dropout before the heads.
        seed: Seed of the dropout masks.
        fused: Let the recurrent layers run their fused pass (False: the cell loop).
        head_names: The heads' names (their Dense layers are `logits_{name}`); default 0, 1, ...
        name: The Keras model's name.
    """
    head_names = list(head_names or map(str, range(len(head_sizes))))
    if len(head_names) != len(head_sizes) or not head_sizes:
        raise ValueError("build_tagger: one name per head, and at least one head")
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    lengths = keras.Input((), dtype="int32", name="lengths")
    mask = StepMask(name="step_mask")(token_ids, lengths)
    hidden = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(token_ids)
    hidden = masked_stack(hidden, mask, cell, units, layers, bidirectional, merge, residual, dropout, seed,
                          fused)[0]
    if dropout:
        hidden = keras.layers.Dropout(dropout, seed=seed + 2 * layers, name="output_dropout")(hidden)
    logits = [keras.layers.Dense(size, name=f"logits_{head}")(hidden) for head, size in zip(head_names, head_sizes)]
    return keras.Model([token_ids, lengths], logits, name=name)
