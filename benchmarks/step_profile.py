"""Where a whole training step's time goes: op time by op type, from TensorFlow's profiler.

    python -m benchmarks.step_profile [--cell lstm] [--units 256] [--layers 2] [--steps 3]
        [--schedule auto] [--tf-ops]

Trains the benchmarks' language model (`benchmarks.peers`: batch 64, 100 steps, Adam,
TBPTT) for a few warm-up steps, then records `--steps` steps with
`tf.profiler.experimental` and prints, per training step, the summed time of each op type
and how many ops of it ran. Op times of ops running at once add up: with both cores busy
the total is about twice the step's wall time. `--tf-ops` runs the fused passes on
TensorFlow ops only (no compiled step kernels, `zoo.fused.native`), the pass before them.
Unlike `benchmarks.fused_timeline`, nothing here traces op by op, which inflated some
small ops' times there (a step's [32, 1024] concat read 54 us there, 6 us here).
"""

import argparse
import collections
import contextlib
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from benchmarks.peers import EMBEDDING, GATES, VOCAB  # noqa: E402
from benchmarks.throughput import keras_trainer  # noqa: E402
from zoo.fused.native import tf_ops_only  # noqa: E402
from zoo.fused.schedule import SCHEDULES, fused_schedule  # noqa: E402
from zoo.models.language_model import build_language_model  # noqa: E402
from zoo.run.cpu_allocator import keep_freed_memory_in_process  # noqa: E402

WARMUP_STEPS = 4


def op_times(space):
    """{op type: (summed microseconds, count)} of the TensorFlow ops in an XSpace (the
    host plane's events named "name:OpType"; the executor's and the function call's own
    events are left out)."""
    totals = collections.defaultdict(lambda: [0.0, 0])
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                op_name, _, op_type = name.rpartition(":")
                if not op_name or op_name.startswith(("ExecutorState", "EagerLocalExecute", "KernelAndDeviceFunc")) \
                        or op_type.startswith(("__inference", "Process", "Run")):
                    continue
                totals[op_type][0] += event.duration_ps / 1e6
                totals[op_type][1] += 1
    return {op_type: tuple(total) for op_type, total in totals.items()}


def profiled_steps(step, steps):
    """The XSpace of `steps` calls of `step(n)`, recorded after warm-up."""
    for n in range(WARMUP_STEPS):
        step(n)
    with tempfile.TemporaryDirectory() as folder:
        tf.profiler.experimental.start(folder)
        for n in range(steps):
            step(WARMUP_STEPS + n)
        tf.profiler.experimental.stop()
        path = next(os.path.join(root, name) for root, _, names in os.walk(folder)
                    for name in names if name.endswith(".xplane.pb"))
        space = xplane_pb2.XSpace()
        with open(path, "rb") as recorded:
            space.ParseFromString(recorded.read())
    return space


def main(argv=None):
    keep_freed_memory_in_process()  # as the recipes do
    parser = argparse.ArgumentParser(prog="python -m benchmarks.step_profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", default="lstm", choices=sorted(GATES))
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="training steps recorded")
    parser.add_argument("--schedule", default="auto", choices=SCHEDULES)
    parser.add_argument("--tf-ops", action="store_true", help="no compiled step kernels")
    parser.add_argument("--top", type=int, default=16, help="op types listed")
    args = parser.parse_args(argv)
    step = keras_trainer(build_language_model(VOCAB, args.cell, args.units, args.layers, EMBEDDING))
    with fused_schedule(args.schedule), tf_ops_only() if args.tf_ops else contextlib.nullcontext():
        times = op_times(profiled_steps(step, args.steps))
    total = sum(micros for micros, _ in times.values())
    print(f"TF {tf.__version__}; {args.cell}, {args.layers} x {args.units} units, schedule {args.schedule}"
          f"{', TensorFlow ops only' if args.tf_ops else ''}: op time {total / args.steps / 1000:.1f} ms per step")
    for op_type, (micros, count) in sorted(times.items(), key=lambda item: -item[1][0])[:args.top]:
        print(f"  {op_type:24s} {micros / args.steps / 1000:8.2f} ms {count // args.steps:6d} ops")


if __name__ == "__main__":
    main()
