"""Training under tf.distribute: the strategy of a run, and the one distributed update
every update rule takes.

`--strategy`:
    default       one device (TensorFlow's default strategy; no replicas)
    mirrored      `MirroredStrategy` over `--devices` devices of this machine: its GPUs,
                  or, on a machine without enough GPUs, its CPU split into that many
                  logical devices (for tests and for trying the path on a laptop)
    multi_worker  `MultiWorkerMirroredStrategy`, the cluster from `TF_CONFIG` (or SLURM's
                  variables, through TensorFlow's cluster resolvers)

Semantics under R replicas and a global batch of B rows (B divisible by R): replica r owns
rows r*B/R .. (r+1)*B/R - 1 of every batch (for TBPTT, those streams, and it carries
their state). Per update:

    loss_r  = sum over replica r's rows of the row loss / B      (so sum_r loss_r = mean loss)
    g       = all_reduce_sum_r d loss_r / d theta                 the global gradient
    g       = clip(g) by the global norm ||g||                    identical on every replica
    finite  = isfinite(sum_r loss_r) and isfinite(||g||)           identical on every replica
    theta  <- optimizer(theta, g)   only if finite: every replica applies or skips together

so an update equals the one-device update on the whole batch, to float rounding. The
replicas run the same program on every worker; each worker reads the whole batch (the
data are deterministic) and each replica takes its rows.
"""

import contextlib
import json
import os
import re

import tensorflow as tf

from zoo.run.errors import InputError


def split_cpu(devices):
    """Split this machine's CPU into `devices` logical devices, where it has fewer than
    `devices` GPUs. Must run before TensorFlow creates its devices (before any op)."""
    if devices <= 1 or len(tf.config.list_physical_devices("GPU")) >= devices:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
    except RuntimeError:
        configured = len(tf.config.list_logical_devices("CPU"))
        if configured != devices:
            raise InputError(f"--devices {devices}: TensorFlow already started with {configured} CPU "
                             "device(s); set --devices when the process starts") from None


_STRATEGIES = {}


def make_strategy(name, devices=1):
    """The tf.distribute strategy of `--strategy name` (see the module docstring).

    One per process and setting: two MirroredStrategy objects in one process number their
    collectives alike, and a run on the second then all-reduces against the first's
    (measured: "Shape mismatch in the collective instance 100")."""
    key = (name, devices if name == "mirrored" else None)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _new_strategy(name, devices)
    return _STRATEGIES[key]


def _new_strategy(name, devices):
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        split_cpu(devices)
        gpus = tf.config.list_logical_devices("GPU")
        pool = gpus if len(gpus) >= devices else tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in pool[:devices]])
    if "TF_CONFIG" not in os.environ and "SLURM_PROCID" not in os.environ:
        raise InputError("--strategy multi_worker: no cluster; expected TF_CONFIG (or a SLURM job) "
                         "naming every worker and this one's index")
    resolver = (tf.distribute.cluster_resolver.TFConfigClusterResolver() if "TF_CONFIG" in os.environ
                else tf.distribute.cluster_resolver.SlurmClusterResolver())
    return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)


def is_chief(strategy):
    """Whether this process writes the run's files (events, checkpoints, exports)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (task_type == "worker" and task_id == 0
                                    and "chief" not in resolver.cluster_spec().as_dict())


def running_strategy():
    """The strategy whose scope we are in, or None outside any (one device, no replicas)."""
    return tf.distribute.get_strategy() if tf.distribute.has_strategy() else None


def replica_rows(batch, count):
    """(first row, rows) of the calling replica's block of a `batch`-row global batch."""
    context = tf.distribute.get_replica_context()
    rows = batch // count
    return context.replica_id_in_sync_group * rows, rows


def check_divisible(batch, strategy, flag="--batch-size"):
    replicas = strategy.num_replicas_in_sync
    if batch % replicas:
        raise InputError(f"{flag} {batch} does not split into {replicas} replicas; expected a multiple "
                         f"of {replicas}")


def worker_count(strategy):
    """How many processes (workers) take part in `strategy`'s updates."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    jobs = resolver.cluster_spec().as_dict()
    return sum(len(tasks) for name, tasks in jobs.items() if name in ("chief", "worker")) or 1


def agreed_stop(strategy):
    """`stop_requested(step)` for `zoo.training.loop` across workers: a worker's own request
    (SIGTERM, a preemption notice) becomes every worker's at the same step, as
    `tf.distribute.experimental.PreemptionCheckpointHandler` does: one small all-reduce
    of the flags per step, so no worker waits on an update the others left."""
    requested = tf.Variable(0.0, trainable=False, name="stop_requested")

    @tf.function
    def any_requested():
        flags = strategy.run(lambda: tf.identity(requested))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, flags, axis=None) > 0

    def wrap(own):
        def stop_requested(step):
            requested.assign(1.0 if own(step) else 0.0)
            return bool(any_requested())
        return stop_requested

    return wrap


class WorkerLost(RuntimeError):
    """A worker of a multi-worker run died or became unreachable."""


@contextlib.contextmanager
def worker_losses(enabled, where):
    """Turn a failed collective into WorkerLost naming the lost worker (`where()`: what
    to add, e.g. the step and the last checkpoint); a no-op unless `enabled`."""
    try:
        yield
    except tf.errors.OpError as error:
        if not enabled:
            raise
        raise WorkerLost(f"{lost_worker_message(error)}; {where()}") from None


def lost_worker_message(error):
    """One line naming the worker that `error` (a failed collective) points at."""
    text = " ".join(str(getattr(error, "message", error)).split())
    match = re.search(r"/job:(\w+)(?:/replica:\d+)?/task:(\d+)", text)
    if not match:
        return f"a worker of the cluster failed: {text[:300]}"
    job, index = match.group(1), int(match.group(2))
    cause = re.search(r"aborted by: (.*?)(?: Additional GRPC| The error could|$)", text)
    text = cause.group(1) if cause else text
    try:
        address = json.loads(os.environ["TF_CONFIG"])["cluster"][job][index]
    except (KeyError, IndexError, ValueError):
        address = "address unknown"
    return f"lost {job} {index} ({address}) of the cluster: {text[:200]}"
