"""Training throughput of the zoo layers on the Keras JAX backend, against Keras' built-in
layers on the same backend and PyTorch, in one run; for GPUs (and machines without
TensorFlow).

    python -m benchmarks.jax_throughput [--cells lstm gru elman] [--units 128 256 512 1024]

Same configuration as `benchmarks.throughput` (`benchmarks.peers`); each peer's whole
training step (forward, backward, Adam update, carried state) is one `jax.jit`-compiled
function, timed after warm-up with the peers taking turns step by step. On a GPU the
zoo's LSTM takes JAX's cuDNN kernel and its GRU Keras' `lax.scan` kernel, as the
built-ins do (`zoo.layers.recurrent`); the zoo's own cell loop (`fused=False`) is a peer
too. PyTorch runs `nn.LSTM` / `nn.GRU` / `nn.RNN` on the same device (cuDNN on a GPU).
Prints characters per second, ratios, and the zoo's GFLOP/s as a share of the rate of a
4096 x 4096 float32 matmul, timed in turns with the peers.
"""

import os

# The Keras backend is fixed when Keras is first imported.
os.environ["KERAS_BACKEND"] = "jax"

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.peers import BATCH, TIME, VOCAB, WINDOWS, compare, parse_arguments, torch_version  # noqa: E402
from zoo.layers.stack import zero_state  # noqa: E402


def matmul(size=4096):
    """(step, flops): one size x size float32 matmul, the device's reference rate."""
    a = jax.random.normal(jax.random.key(0), (size, size), "float32")
    product = jax.jit(lambda a: a @ a)

    def step(n):
        product(a).block_until_ready()

    return step, 2 * size ** 3


def jax_trainer(model):
    """One TBPTT training step of `model` as `step(n)`, on window `n % WINDOWS`, returning
    once the device has finished it."""
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def loss(trainable, non_trainable, inputs, targets, state):
        (logits, *new_state), non_trainable = model.stateless_call(
            trainable, non_trainable, [inputs, *state], training=True)
        return cross_entropy(targets, logits), (non_trainable, new_state)

    @jax.jit
    def update(trainable, non_trainable, optimizer_state, inputs, targets, state):
        (value, (non_trainable, new_state)), gradients = jax.value_and_grad(loss, has_aux=True)(
            trainable, non_trainable, inputs, targets, state)
        trainable, optimizer_state = optimizer.stateless_apply(optimizer_state, gradients, trainable)
        # The state goes on to the next window; the gradient stops at the window's edge.
        return trainable, non_trainable, optimizer_state, [jax.lax.stop_gradient(s) for s in new_state], value

    variables = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
                 [v.value for v in optimizer.variables])
    state = [jax.numpy.asarray(s) for s in zero_state(model, BATCH)]
    windows = jax.numpy.asarray(np.random.default_rng(0).integers(0, VOCAB, (WINDOWS, BATCH, TIME + 1)), "int32")

    def step(n):
        nonlocal variables, state
        window = windows[n % WINDOWS]
        *variables, state, value = update(*variables, window[:, :-1], window[:, 1:], state)
        value.block_until_ready()

    return step


def main(argv=None):
    arguments = parse_arguments("python -m benchmarks.jax_throughput", __doc__.split("\n")[0], 20, argv)
    device = jax.devices()[0]
    torch = torch_version()
    print(f"device {device.device_kind} ({device.platform}); matmul 4096 x 4096 float32 as the reference; "
          f"JAX {jax.__version__}, Keras {keras.__version__}"
          + (f", PyTorch {torch}" if torch else ", PyTorch not installed"))
    torch_device = ("cuda" if device.platform == "gpu" else "cpu") if torch else None
    compare(arguments, jax_trainer, lambda units: arguments.steps, matmul(), torch_device)


if __name__ == "__main__":
    main()
