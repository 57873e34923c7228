"""Read a run's TensorBoard events back as the TensorBoard server does.

`plugin_event_accumulator` is the reader behind TensorBoard's HTTP server: it stores TF2
summaries as tensors and applies the purge of orphaned steps after a restart
(SessionLog.START) to them, which the legacy `event_accumulator` does only for its v1
reservoirs.
"""

import tensorflow as tf
from tensorboard.backend.event_processing import plugin_event_accumulator


def load_events(run_dir):
    accumulator = plugin_event_accumulator.EventAccumulator(
        str(run_dir), size_guidance={plugin_event_accumulator.TENSORS: 0})
    accumulator.Reload()
    return accumulator


def scalar_series(accumulator, tag):
    """{step: value} of a scalar tag; a step logged twice is an error."""
    events = accumulator.Tensors(tag)
    series = {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in events}
    assert len(series) == len(events), f"{tag}: some steps were logged twice"
    return series
