"""The one error type for bad input, raised where the input enters, and how a full disk
is recognised where something is written."""

import errno

import tensorflow as tf


class InputError(ValueError):
    """Bad input from a user: a path, a file's contents, a flag or a request.

    The message is one line that names the input and what was expected; command-line
    entry points print it without a traceback and exit with status 2.
    """


def is_disk_full(error):
    """Whether `error` is a write that found no space (or quota) left: Python's OSError,
    or TensorFlow's ResourceExhaustedError from a checkpoint or SavedModel write."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(error, tf.errors.ResourceExhaustedError) and "No space left" in str(error)


def disk_full_error(where, then):
    """The InputError of a full disk while writing `where`; `then` says what to do next."""
    return InputError(f"{where}: no space left on the device; free some space, then {then}")
