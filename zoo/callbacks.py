"""Keras callbacks for any `model.fit`: `GradientFlow`, the gradient-flow plot of the
recipes for the recurrent layers of a user's model (built-in Keras layers or zoo layers).

    model.fit(x, y, epochs=10, callbacks=[
        keras.callbacks.TensorBoard("logs"),
        zoo.callbacks.GradientFlow("logs", validation_batch=(x_valid[:64], y_valid[:64]))])

TensorBoard then shows, in the run `logs/validation`, for each recurrent layer L:
    gradient_flow/plot/L                 ||d loss / d s_t|| against steps before the last
    gradient_flow/first_to_last_ratio/L  the first step's norm over the last step's
                                         (of those with a gradient)
"""

import pathlib

import keras
import numpy as np
import tensorflow as tf

from zoo.evaluation.gradient_flow import layer_gradient_norms, plot_png, recurrent_layers

UNITS = ("epoch", "batch")


def first_to_last_ratio(norms):
    """The first step's norm over the last step's, among the steps with a gradient: a step
    every row of the batch masks (right padding, in the last steps) has none, and would
    make the ratio inf or nan. nan where no step has one."""
    reached = np.flatnonzero(norms > 0)
    return norms[reached[0]] / norms[reached[-1]] if reached.size else float("nan")


class GradientFlow(keras.callbacks.Callback):
    """Writes the gradient flow through time of every recurrent layer to TensorBoard.

    Every `every` epochs (or batches, with `unit="batch"`), the loss of a fixed validation
    batch is differentiated with respect to each state s_t of each recurrent layer that
    the model holds anywhere (inside `Bidirectional`, nested models, functional graphs):
    see `zoo.evaluation.gradient_flow.layer_gradient_norms`. The step of the summaries is
    the epoch (or the batch counted from the start of training), as the Keras
    TensorBoard callback counts.

    Args:
        log_dir: The TensorBoard log folder (the one `keras.callbacks.TensorBoard` gets);
            events go to its `validation` run.
        validation_batch: (x, y) or (x, y, sample_weight): one batch, as `model.fit`
            takes it. Long batches cost time: each layer runs step by step on it.
        every: Write every this many epochs or batches (a positive integer).
        unit: "epoch" or "batch".
    """

    def __init__(self, log_dir, validation_batch, every=1, unit="epoch"):
        super().__init__()
        if unit not in UNITS:
            raise ValueError(f"GradientFlow: `unit` must be one of {UNITS}, received: {unit!r}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"GradientFlow: `every` must be a positive integer, received: {every!r}")
        if not isinstance(validation_batch, (tuple, list)) or len(validation_batch) not in (2, 3):
            raise ValueError("GradientFlow: `validation_batch` must be (x, y) or (x, y, sample_weight)")
        self.log_dir = pathlib.Path(log_dir)
        self.validation_batch = tuple(validation_batch)
        self.every, self.unit = every, unit
        self._writer = None
        self._batches = 0

    def on_train_begin(self, logs=None):
        if not recurrent_layers(self.model):
            raise ValueError(f"GradientFlow: model {self.model.name!r} has no recurrent layer "
                             "(keras.layers.RNN or a subclass)")
        self._writer = tf.summary.create_file_writer(str(self.log_dir / "validation"))

    def on_epoch_end(self, epoch, logs=None):
        if self.unit == "epoch" and (epoch + 1) % self.every == 0:
            self.write(epoch)

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self.unit == "batch" and self._batches % self.every == 0:
            self.write(self._batches)

    def on_train_end(self, logs=None):
        self._writer.flush()

    def write(self, step):
        """Measure and write the summaries at `step`; returns {layer name: [T] norms}."""
        x, y, *sample_weight = self.validation_batch
        norms = layer_gradient_norms(self.model, recurrent_layers(self.model), x, y, *sample_weight)
        with self._writer.as_default(step=step):
            for name, layer_norms in norms.items():
                tf.summary.scalar(f"gradient_flow/first_to_last_ratio/{name}", first_to_last_ratio(layer_norms))
                png = plot_png(layer_norms, f"{name}, {self.unit} {step}")
                tf.summary.image(f"gradient_flow/plot/{name}", tf.image.decode_png(png)[None])
        return norms
