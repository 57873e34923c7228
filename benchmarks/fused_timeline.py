"""A TensorFlow timeline of one forward and backward pass through a stack of fused
recurrent passes (`zoo.fused`), on each schedule asked for: where the time goes, and
whether the batch split's two chains run side by side.

    python -m benchmarks.fused_timeline [--cell lstm] [--units 256] [--layers 2]
        [--schedules single batch-split] [--trace-dir DIR]

The passes run as in training (batch 64, 100 steps, inputs of 64 features, the loss
sum(h^2) of the top layer, gradients for every weight) in a TF1-style graph traced with
`RunOptions.FULL_TRACE`, which records every op's start, end and thread. Per schedule
it prints the step's span, the ops' summed time, how long 0, 1, 2 or 3+ ops ran at once
(two cores kept busy read as time with 2 ops running), and the op types that took
longest. `--trace-dir` writes each timeline as Chrome trace JSON (chrome://tracing,
Perfetto). The inputs are fed as placeholders, so that Grappler cannot fold the
passes into constants.
"""

import argparse
import collections
import os

import numpy as np
import tensorflow as tf
from tensorflow.python.client import timeline

from zoo.cells import make_cell
from zoo.fused.schedule import SCHEDULES, fused_schedule, on_current_schedule
from zoo.layers.recurrent import _fused_sequence, _fused_weights

BATCH, TIME, FEATURES = 64, 100, 64
WARMUP_RUNS = 3


def eager_layers(cell, units, layers):
    """Per layer: (its fused sequence, its weights as NumPy arrays, its state count), from
    new zoo cells of `cell` built eagerly."""
    built = []
    for layer in range(layers):
        recurrent_cell = make_cell(cell, units)
        recurrent_cell.build((BATCH, FEATURES if layer == 0 else units))
        weights = [w.numpy() for w in _fused_weights(recurrent_cell, tf.float32)]
        built.append((_fused_sequence(recurrent_cell), weights, len(np.atleast_1d(recurrent_cell.state_size))))
    return built


def fused_stack_gradients(built, units, feeds):
    """The weight gradients of sum(h^2) over the fused passes `built` (`eager_layers`), in
    the current graph, every input a placeholder recorded in `feeds`."""

    def placeholder(value):
        node = tf.compat.v1.placeholder(tf.as_dtype(value.dtype), value.shape)
        feeds[node] = value
        return node

    hidden = placeholder(np.random.default_rng(0).normal(size=(BATCH, TIME, FEATURES)).astype(np.float32))
    weights = []
    for sequence, values, state_count in built:
        layer_weights = [placeholder(v) for v in values]
        states = [placeholder(np.zeros((BATCH, units), np.float32)) for _ in range(state_count)]
        hidden, *_ = on_current_schedule(sequence, units, hidden, states, layer_weights, None)
        weights += layer_weights
    return tf.gradients(tf.reduce_sum(hidden ** 2), weights)


def traced_run(cell, units, layers, schedule):
    """The step stats of one traced run (after `WARMUP_RUNS` untraced ones) on `schedule`."""
    feeds, built = {}, eager_layers(cell, units, layers)
    with tf.Graph().as_default(), fused_schedule(schedule):
        gradients = fused_stack_gradients(built, units, feeds)
        with tf.compat.v1.Session() as session:
            for _ in range(WARMUP_RUNS):
                session.run(gradients, feed_dict=feeds)
            metadata = tf.compat.v1.RunMetadata()
            session.run(gradients, feed_dict=feeds, run_metadata=metadata,
                        options=tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE))
    return metadata.step_stats


def op_spans(step_stats):
    """(start us, end us, op type) of every op the run executed."""
    spans = []
    for device in step_stats.dev_stats:
        for node in device.node_stats:
            if node.node_name in ("_SOURCE", "_SINK"):
                continue
            label = node.timeline_label  # "name = OpType(inputs)"
            op = label.split("=", 1)[1].split("(", 1)[0].strip() if "=" in label else node.node_name
            spans.append((node.all_start_micros, node.all_start_micros + node.all_end_rel_micros, op))
    return spans


def concurrency(spans):
    """Microseconds during which 0, 1, 2 and 3+ ops ran at once, over the run's span."""
    edges = sorted([(start, 1) for start, _, _ in spans] + [(end, -1) for _, end, _ in spans])
    running, last, time_at = 0, edges[0][0], collections.Counter()
    for moment, change in edges:
        time_at[min(running, 3)] += moment - last
        running, last = running + change, moment
    return [time_at[k] for k in range(4)]


def report(schedule, spans, top=8):
    span = max(end for _, end, _ in spans) - min(start for start, _, _ in spans)
    by_op, count = collections.Counter(), collections.Counter()
    for start, end, op in spans:
        by_op[op] += end - start
        count[op] += 1
    at_once = "/".join(f"{t / 1000:.0f}" for t in concurrency(spans))
    print(f"{schedule}: span {span / 1000:.0f} ms, {len(spans)} ops, op time {sum(by_op.values()) / 1000:.0f} ms; "
          f"ms with 0/1/2/3+ ops running: {at_once}")
    for op, micros in by_op.most_common(top):
        print(f"  {op:16s} {micros / 1000:6.0f} ms  {count[op]:5d} ops  {micros / count[op]:7.0f} us each")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fused_timeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", default="lstm", choices=("lstm", "gru", "elman"))
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--schedules", nargs="+", default=["single", "batch-split"], choices=SCHEDULES)
    parser.add_argument("--trace-dir", help="write each schedule's timeline here as Chrome trace JSON")
    args = parser.parse_args(argv)
    print(f"TF {tf.__version__}; {args.cell}, {args.layers} x {args.units} units, batch {BATCH}, {TIME} steps")
    for schedule in args.schedules:
        stats = traced_run(args.cell, args.units, args.layers, schedule)
        report(schedule, op_spans(stats))
        if args.trace_dir:
            os.makedirs(args.trace_dir, exist_ok=True)
            path = os.path.join(args.trace_dir, f"{args.cell}_{args.layers}x{args.units}_{schedule}.json")
            with open(path, "w") as trace:
                trace.write(timeline.Timeline(stats).generate_chrome_trace_format())
            print(f"  timeline: {path}")


if __name__ == "__main__":
    main()
