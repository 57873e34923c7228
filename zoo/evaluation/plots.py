"""The one plotting helper: matplotlib figures drawn off-screen (the Agg backend, no
display needed) and handed over as PNG bytes, for TensorBoard images and files."""

import io


def subplots(*rows_columns, **options):
    """(figure, axes) of `matplotlib.pyplot.subplots(*rows_columns, **options)` on the Agg
    backend."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot.subplots(*rows_columns, **options)


def png_of(figure):
    """`figure` laid out tightly, as PNG bytes; the figure is closed."""
    from matplotlib import pyplot

    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()
