"""Evaluation over many examples in chunks of rows, so that memory stays bounded and one
traced function (a fixed chunk shape, and the last chunk's) serves a whole split."""

EVALUATION_ROWS = 256


def row_chunks(*arrays, rows=EVALUATION_ROWS):
    """Tuples of `arrays[k][start:start + rows]`, start = 0, rows, 2 rows, ...: the arrays
    share their first dimension."""
    for start in range(0, len(arrays[0]), rows):
        yield tuple(array[start:start + rows] for array in arrays)
