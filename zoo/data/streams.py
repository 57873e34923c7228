"""Stream batching for stateful training, and the TBPTT(k1, k2) windows over it.

The corpus (ids) is cut into `batch_size` contiguous streams, one per batch row;
the tail that does not fill a row is dropped. With batch_size = 3:

    ids:     a b c d e f g h i j k l m n o p q r
    row 0:   a b c d e f
    row 1:   g h i j k l
    row 2:   m n o p q r

Window n of TBPTT(k1, k2) covers stream positions [n*k1, n*k1 + k2) of every row; its
targets are the same positions shifted by one. Consecutive windows start k1 apart, so
row j of window n+1 continues row j of window n exactly (for k1 == k2 they tile the
stream; for k2 > k1 they overlap by k2 - k1 positions, which the TBPTT rule reads but does
not score twice). With k1 = 2, k2 = 3, row 0 above gives windows `a b c`, `c d e`.
"""

import numpy as np
import tensorflow as tf


def cut_into_streams(ids, batch_size):
    """[batch_size, len(ids) // batch_size] int32: row j is the j-th contiguous stretch."""
    stream_length = len(ids) // batch_size
    return np.asarray(ids[: stream_length * batch_size], dtype=np.int32).reshape(
        batch_size, stream_length)


def window_count(stream_length, k1, k2):
    """Number of full windows (inputs and their shifted targets) in a stream."""
    usable = stream_length - 1  # the last position has no target
    return 0 if usable < k2 else (usable - k2) // k1 + 1


def tbptt_windows(streams, k1, k2, first_window=0):
    """(inputs, targets) int32 tensors, each [batch, k2], windows first_window.. in order.

    A plain generator over slices of the streams, not a tf.data pipeline: making a new
    tf.data iterator for each epoch stalled for 10 to 17 s at some epoch starts while
    the model trained (TF 2.21 CPU, 2 of the first 3 epoch starts of the default
    char_lm run), about a third of the job's time; a slice costs microseconds.
    """
    streams = np.asarray(streams, dtype=np.int32)
    for n in range(first_window, window_count(streams.shape[1], k1, k2)):
        start = n * k1
        yield (tf.constant(streams[:, start:start + k2]),
               tf.constant(streams[:, start + 1:start + k2 + 1]))
