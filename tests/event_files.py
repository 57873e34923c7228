"""Read a run's TensorBoard events back (TF2 summaries are stored as tensors)."""

import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator


def load_events(run_dir):
    accumulator = event_accumulator.EventAccumulator(
        str(run_dir), size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    return accumulator


def scalar_series(accumulator, tag):
    """{step: value} of a scalar tag; a step logged twice is an error."""
    events = accumulator.Tensors(tag)
    series = {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in events}
    assert len(series) == len(events), f"{tag}: some steps were logged twice"
    return series
