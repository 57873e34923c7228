"""A sweep's summary: one row per (cell, T) run, written as a Markdown table, a CSV file,
and TensorBoard (the table as text, a plot of error against T per cell, and one run per
cell, `curves/CELL`, whose scalar is the test error at step = T, so TensorBoard draws
error against T with the cells side by side).

Rows are dicts with at least `cell`, `T` and `test_error`; every key becomes a column.
"""

import csv
import io
import os
import uuid

import tensorflow as tf

from zoo.evaluation.plots import png_of, subplots


def markdown_table(heading, rows):
    """`heading`, then the rows as a Markdown table (floats to 4 digits, bools yes / no)."""

    def shown(value):
        if isinstance(value, bool):
            return "yes" if value else "no"
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    columns = list(rows[0])
    lines = [heading, "", "| " + " | ".join(name.replace("_", " ") for name in columns) + " |",
             "| " + " | ".join("---" if isinstance(rows[0][name], (str, bool)) else "---:"
                               for name in columns) + " |"]
    lines += ["| " + " | ".join(shown(row[name]) for name in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def error_plot_png(rows, title, baseline_of):
    """PNG bytes: test error against T (log scale) per cell, and the baseline, dashed."""
    figure, axes = subplots(figsize=(6, 4), dpi=100)
    for cell in dict.fromkeys(row["cell"] for row in rows):
        points = sorted((row["T"], row["test_error"]) for row in rows if row["cell"] == cell)
        axes.plot(*zip(*points), marker="o", label=cell)
    lengths = sorted({row["T"] for row in rows})
    axes.plot(lengths, [baseline_of(length) for length in lengths], "k--", label="baseline")
    axes.set_xscale("log")
    axes.set_xlabel("T")
    axes.set_title(title)
    axes.legend()
    axes.grid(True, alpha=0.3)
    return png_of(figure)


def write_sweep_summary(sweep_dir, rows, heading, title, baseline_of):
    """sweep.md, sweep.csv (each written whole or not at all) and the TensorBoard events
    described above, in `sweep_dir`; returns the Markdown."""
    markdown = markdown_table(heading, rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    for name, text in (("sweep.md", markdown), ("sweep.csv", buffer.getvalue())):
        partial = sweep_dir / f".{name}.{uuid.uuid4().hex}"
        partial.write_text(text)
        os.replace(partial, sweep_dir / name)
    with tf.summary.create_file_writer(str(sweep_dir / "sweep")).as_default(step=0):
        tf.summary.text("sweep/table", markdown)
        tf.summary.image("sweep/error_against_length",
                         tf.image.decode_png(error_plot_png(rows, title, baseline_of))[None])
    for cell in dict.fromkeys(row["cell"] for row in rows):
        with tf.summary.create_file_writer(str(sweep_dir / "curves" / cell)).as_default():
            for row in rows:
                if row["cell"] == cell:
                    tf.summary.scalar("sweep/test_error_against_T", row["test_error"], step=row["T"])
    return markdown
