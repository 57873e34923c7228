"""Closed-form readouts: ridge regression of targets on collected states, as echo-state
networks are trained (Jaeger, 2001; Lukosevicius, 2012, "A Practical Guide to Applying
Echo State Networks").

For states S [n, f] (rows after the washout) and targets Y [n, o], the readout
y = s W_out + b minimises ||S W_out + 1 b - Y||^2 + ridge * ||W_out||^2 (the bias is not
penalised):

    S_c = S - mean(S),  Y_c = Y - mean(Y)
    W_out = (S_c^T S_c + ridge * I)^-1 S_c^T Y_c,   b = mean(Y) - mean(S) W_out

Only the sums S^T S, S^T Y, sum(S), sum(Y) and n are needed, so states are collected a
batch at a time (in float64) and never held all at once; `RidgeReadoutRule` is the
same as an update rule of `zoo.training.loop`, resumable from its sums.
"""

import numpy as np
import tensorflow as tf


class RidgeSums:
    """The running sums of (states, targets) pairs, as float64 variables (checkpointable)."""

    def __init__(self, features, outputs):
        def zeros(*shape):
            return tf.Variable(tf.zeros(shape, tf.float64), trainable=False)

        self.states_gram, self.states_targets = zeros(features, features), zeros(features, outputs)
        self.states_sum, self.targets_sum, self.count = zeros(features), zeros(outputs), zeros()

    def variables(self):
        return {"states_gram": self.states_gram, "states_targets": self.states_targets,
                "states_sum": self.states_sum, "targets_sum": self.targets_sum, "count": self.count}

    def add(self, states, targets):
        """Add rows: states [n, features], targets [n, outputs]."""
        states, targets = tf.cast(states, tf.float64), tf.cast(targets, tf.float64)
        self.states_gram.assign_add(tf.matmul(states, states, transpose_a=True))
        self.states_targets.assign_add(tf.matmul(states, targets, transpose_a=True))
        self.states_sum.assign_add(tf.reduce_sum(states, axis=0))
        self.targets_sum.assign_add(tf.reduce_sum(targets, axis=0))
        self.count.assign_add(tf.cast(tf.shape(states)[0], tf.float64))

    def solve(self, ridge):
        """(W_out [features, outputs], b [outputs]) as float64 NumPy arrays."""
        n = float(self.count.numpy())
        if n < 1:
            raise ValueError("RidgeSums.solve: no rows were added")
        states_mean = self.states_sum.numpy() / n
        targets_mean = self.targets_sum.numpy() / n
        gram = self.states_gram.numpy() - n * np.outer(states_mean, states_mean)
        cross = self.states_targets.numpy() - n * np.outer(states_mean, targets_mean)
        kernel = np.linalg.solve(gram + ridge * np.eye(len(gram)), cross)
        return kernel, targets_mean - states_mean @ kernel


def fit_ridge(states, targets, ridge, washout=0):
    """(W_out, b) for states [n, f] and targets [n, o] (or [time, ...] of one series),
    dropping the first `washout` rows, while the state still remembers its start."""
    states, targets = np.asarray(states)[washout:], np.asarray(targets)[washout:]
    sums = RidgeSums(states.shape[-1], targets.shape[-1])
    sums.add(states, targets)
    return sums.solve(ridge)


class RidgeReadoutRule:
    """An update rule of `zoo.training.loop` that fits a readout in closed form: each step adds a
    batch's (features, regression targets) to the sums and solves the readout anew.

    Args:
        features: Keras model: inputs -> the states the readout reads, [batch, f].
        readout: The `keras.layers.Dense` readout (its kernel and bias are assigned).
        make_batch: `make_batch(index)` -> (inputs, targets), batch `index` of the run.
        regression_targets: targets -> [batch, outputs] float (one-hot for classes).
        ridge: The penalty on W_out.
    """

    item_name = "examples"
    by_gradient = False

    def __init__(self, features, readout, make_batch, regression_targets, ridge):
        self.features, self.readout, self.make_batch = features, readout, make_batch
        self.regression_targets, self.ridge = regression_targets, ridge
        self.sums = RidgeSums(readout.kernel.shape[0], readout.kernel.shape[1])
        self.batch = tf.Variable(0, dtype=tf.int64, trainable=False, name="batch")
        self.items_per_update = None

    def checkpointed(self):
        return {"batch": self.batch, **self.sums.variables()}

    def batches(self):
        while True:
            inputs, targets = self.make_batch(int(self.batch))
            self.batch.assign_add(1)
            yield inputs, targets

    def train_step(self, inputs, targets):
        """Adds the batch and solves; the loss is the mean squared error of the readout
        before this batch joined it (an honest, held-out figure). Returns the dict of
        `zoo.training.guarded_update.guarded_update` without gradients."""
        self.items_per_update = len(inputs)
        states = self.features(inputs, training=False)
        regression = np.asarray(self.regression_targets(targets), np.float64)
        loss = float(np.mean(np.square(np.asarray(self.readout(states)) - regression)))
        finite = bool(np.isfinite(loss) and np.all(np.isfinite(states)))
        if finite:
            self.sums.add(states, regression)
            kernel, bias = self.sums.solve(self.ridge)
            self.readout.kernel.assign(kernel.astype(self.readout.kernel.dtype))
            self.readout.bias.assign(bias.astype(self.readout.bias.dtype))
        return {"loss": loss, "finite": finite, "clipped": False}
