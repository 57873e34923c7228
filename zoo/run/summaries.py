"""TensorBoard output of a run: scalars, histograms, text, images and hparams.

Tags every recipe's run has (TF2 summaries, stored as tensors):
    train/loss, train/learning_rate, train/grad_norm (global norm before clipping),
    train/clipped_share, train/<items>_per_second, train/skipped_update
    weights/<path>, gradients/<path>          histograms
and whatever its task adds (`zoo.run.task`): train/bits_per_char, valid/..., samples/text,
gradient_flow/... for char_lm.

HParams: each run writes its own hparams, `recipe` among them, and no run writes the
experiment's list of hparams and metrics into the shared logdir. TensorBoard reads one
such list per logdir (the first it finds), so runs of two recipes would hide each
other's hparams; without one, it builds the experiment from every run's hparams and
scalars, and runs of every recipe show side by side (filter on `recipe`).
"""

import time

import tensorflow as tf
from tensorboard.compat.proto import event_pb2
from tensorboard.plugins.hparams import api as hp


class RunSummaries:
    """Writes one run's events into its folder.

    Args:
        run_dir: The run folder (events go here).
        start_step: The step this session starts from (0, or the step of the checkpoint a
            resumed run restarts from: steps after it that the killed session logged are
            logged again now, and TensorBoard drops the old ones, see `mark_session_start`).
    """

    def __init__(self, run_dir, start_step=0):
        self.run_dir = run_dir
        mark_session_start(run_dir, start_step)
        self.writer = tf.summary.create_file_writer(str(run_dir))

    def scalars(self, step, values):
        with self.writer.as_default(step=step):
            for tag, value in values.items():
                tf.summary.scalar(tag, value)

    def histograms(self, step, variables, grads=None):
        """Weights, and their gradients where the update rule has them."""
        with self.writer.as_default(step=step):
            for index, variable in enumerate(variables):
                tf.summary.histogram(f"weights/{variable.path}", variable)
                if grads is not None:
                    tf.summary.histogram(f"gradients/{variable.path}", grads[index])

    def text(self, step, tag, markdown):
        with self.writer.as_default(step=step):
            tf.summary.text(tag, markdown)

    def png(self, step, tag, png_bytes):
        with self.writer.as_default(step=step):
            tf.summary.image(tag, tf.image.decode_png(png_bytes)[None])

    def hparams(self, values):
        """The run's hparams (name -> value); see the module docstring."""
        with self.writer.as_default():
            hp.hparams(values)

    def flush(self):
        self.writer.flush()


def mark_session_start(run_dir, step):
    """Tell TensorBoard that a session of the run starts after `step`.

    A `SessionLog.START` event at step + 1: TensorBoard's reader treats the first one of a
    run as its start and every later one as a restart, dropping the events read so far
    at steps > `step` (orphans of a killed session), so a resumed run's axis holds each
    step once. Event files are read in name order; this one is named after the current
    second followed by "0-", which sorts before the summary writer's file of the same
    second (named with the host after the second).
    """
    wall_time = time.time()
    path = run_dir / f"events.out.tfevents.{int(wall_time):010d}.0-session-start"
    with tf.io.TFRecordWriter(str(path)) as records:
        records.write(event_pb2.Event(wall_time=wall_time, file_version="brain.Event:2")
                      .SerializeToString())
        records.write(event_pb2.Event(
            wall_time=wall_time, step=step + 1,
            session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START))
            .SerializeToString())
