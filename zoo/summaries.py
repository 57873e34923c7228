"""TensorBoard output of a run: scalars, histograms, text, images and hparams.

Tags (TF2 summaries, stored as tensors):
    train/loss, train/bits_per_char, train/learning_rate, train/grad_norm (global norm
    before clipping), train/clipped_share, train/chars_per_second
    valid/loss, valid/bits_per_char, valid/perplexity
    weights/<path>, gradients/<path>          histograms
    samples/text                              generated text at each validation
    gradient_flow/plot, gradient_flow/first_to_last_ratio
"""

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

# The config fields shown as hparams, and the metrics they are compared on.
HPARAM_FIELDS = ("cell", "units", "layers", "embedding_dim", "batch_size", "k1", "k2", "lr",
                 "optimizer", "clip_norm", "dropout", "seed")
HPARAM_METRICS = ("valid/bits_per_char", "valid/loss", "valid/perplexity")


class RunSummaries:
    """Writes one run's events into its folder.

    Args:
        run_dir: The run folder (events go here).
        config: The run's config (a dataclass with the HPARAM_FIELDS).
    """

    def __init__(self, run_dir, config):
        self.run_dir = run_dir
        self.writer = tf.summary.create_file_writer(str(run_dir))
        self.config = config

    def scalars(self, step, values):
        with self.writer.as_default(step=step):
            for tag, value in values.items():
                tf.summary.scalar(tag, value)

    def histograms(self, step, variables, grads):
        with self.writer.as_default(step=step):
            for variable, grad in zip(variables, grads):
                tf.summary.histogram(f"weights/{variable.path}", variable)
                tf.summary.histogram(f"gradients/{variable.path}", grad)

    def text(self, step, tag, markdown):
        with self.writer.as_default(step=step):
            tf.summary.text(tag, markdown)

    def png(self, step, tag, png_bytes):
        with self.writer.as_default(step=step):
            tf.summary.image(tag, tf.image.decode_png(png_bytes)[None])

    def hparams(self):
        """The run's hparams, and the experiment's hparam/metric list in the logdir."""
        values = {name: getattr(self.config, name) for name in HPARAM_FIELDS}
        # hparams_config belongs in the logdir that holds the runs being compared.
        with tf.summary.create_file_writer(str(self.run_dir.parent)).as_default():
            hp.hparams_config(
                hparams=[hp.HParam(name) for name in HPARAM_FIELDS],
                metrics=[hp.Metric(tag, display_name=tag) for tag in HPARAM_METRICS])
        with self.writer.as_default():
            hp.hparams(values)

    def flush(self):
        self.writer.flush()
