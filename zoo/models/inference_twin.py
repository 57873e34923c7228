"""The inference twin: a model rebuilt with dropout 0, holding the training model's weights.

`keras.layers.RNN` draws a cell's dropout masks on every call, `training=False` included,
which advances the dropout seed state. Validation, sampling and export therefore run on
an inference twin: the same architecture with dropout 0 and the training model's
weights, so they neither change the training run's random stream nor put a mutable seed
variable into a served graph.
"""


def copy_weights(source, target):
    """Assign `source`'s trainable weights to `target` (same architecture, any dropout)."""
    for into, value in zip(target.trainable_variables, source.trainable_variables, strict=True):
        into.assign(value)
