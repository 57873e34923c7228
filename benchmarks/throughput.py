"""Training throughput of the zoo layers against Keras built-ins and PyTorch, in one run.

    python -m benchmarks.throughput [--cells lstm gru elman] [--units 128 256 512 1024]
        [--layers 1 2] [--pool recipe|default]

Same configuration for every peer (`benchmarks.peers`); whole training steps, timed
after warm-up with the peers taking turns step by step. Peers: the Keras built-in layer,
PyTorch's `nn.LSTM` / `nn.GRU` / `nn.RNN` if installed, and the zoo's own cell loop
(`fused=False`, what the fused pass replaces). Prints characters per second, the ratio
of the zoo to each peer, the zoo's achieved GFLOP/s and its share of the rate of a
2048 x 2048 float32 matmul, timed in turns with the peers. These machines are noisy:
compare ratios, not absolutes.

TensorFlow's thread pools are one per process, so every TensorFlow peer shares them:
`--pool recipe` (the default) sets them as a recipe would for the zoo's `auto` schedule
at this batch and the fewest units asked for (`zoo.fused.schedule.claim_core_per_group`:
one intra-op thread on a 2-core machine), `--pool default` leaves TensorFlow's. The
header says which pool ran.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.peers import BATCH, TIME, VOCAB, WINDOWS, compare, parse_arguments, torch_version  # noqa: E402
from zoo.fused.schedule import claim_core_per_group, cpu_cores  # noqa: E402
from zoo.run.cpu_allocator import keep_freed_memory_in_process  # noqa: E402
from zoo.training.tbptt import TBPTTRule  # noqa: E402


def matmul(size=2048, copies=1):
    """(step, flops): `copies` independent size x size float32 matmuls in one graph, the
    machine's reference rate (two side by side where the intra-op pool has one thread, so
    the reference, like the zoo, has both cores)."""
    matrices = [tf.random.normal([size, size]) for _ in range(copies)]  # distinct: no shared subexpression

    @tf.function
    def products():
        return [tf.linalg.matmul(a, a) for a in matrices]

    def step(n):
        [product.numpy() for product in products()]

    step.products = products
    return step, copies * 2 * size ** 3


def keras_trainer(model):
    """One zoo-trainer training step of `model` as `step(n)`, on window `n % WINDOWS`."""
    trainer = TBPTTRule(model, keras.optimizers.Adam(1e-3), BATCH, TIME, TIME)
    windows = tf.constant(np.random.default_rng(0).integers(0, VOCAB, (WINDOWS, BATCH, TIME + 1)), tf.int32)

    def step(n):
        # Reading the loss waits for the update.
        float(trainer.train_step(windows[n % WINDOWS, :, :-1], windows[n % WINDOWS, :, 1:])["loss"])

    return step


def main(argv=None):
    keep_freed_memory_in_process()  # as the recipes do
    arguments = parse_arguments("python -m benchmarks.throughput", __doc__.split("\n")[0], 12, argv,
                                pool=True)
    pool, copies = "TensorFlow's default", 1
    if arguments.pool == "recipe" and claim_core_per_group("auto", BATCH, min(arguments.units)):
        pool, copies = "one thread (one core per row group)", cpu_cores()
    torch = torch_version()
    print(f"TF {tf.__version__}, Keras {keras.__version__}"
          + (f", PyTorch {torch}" if torch else ", PyTorch not installed") + f"; TF intra-op pool: {pool}")
    compare(arguments, keras_trainer, lambda units: max(5, arguments.steps * 256 // max(units, 256)),
            matmul(copies=copies),
            "cpu" if torch else None)


if __name__ == "__main__":
    main()
