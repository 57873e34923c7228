"""Echo-state benchmarks: the zoo's `ReservoirCell` with a ridge readout beside the same
echo-state network built with reservoirpy (if installed), at identical hyperparameters.

    pip install reservoirpy==0.4.2     # optional peer
    python -m benchmarks.echo_state [--seeds 0 1 2 3 4]

Tasks (series generated here, the same arrays for both):
- Mackey-Glass (tau = 17; a = 0.2, b = 0.1, n = 10; RK4, dt = 0.1, sampled every time
  unit), standardised: predict x(t + 10) from x(t), the forecast of reservoirpy's own
  tutorial.
- NARMA-10 (Atiya & Parlos, 2000): u(t) ~ U[0, 0.5],
  y(t+1) = 0.3 y(t) + 0.05 y(t) sum_{i=0..9} y(t-i) + 1.5 u(t-9) u(t) + 0.1;
  predict y(t) from u(t) (system identification).

Both: 2,000 training steps of which the first 100 are washout (the state still
remembers its zero start), then 1,000 test steps run on from the training state.
NRMSE = RMSE / std(target) on the test steps; 0 is perfect, 1 is the mean's error.
Reservoirs differ by seed (each library draws its own); the spread over seeds is shown.
Seconds: collecting the states, fitting the readout and predicting, per seed.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from zoo.cells import ReservoirCell  # noqa: E402
from zoo.layers.recurrent import RecurrentLayer  # noqa: E402
from zoo.training.ridge import fit_ridge  # noqa: E402

TRAIN, TEST, WASHOUT = 2000, 1000, 100

# Identical for both libraries; inputs are dense (connectivity 1) U(-1, 1) * input_scaling,
# recurrent weights N(0, 1) at `connectivity`, scaled to `spectral_radius`; no bias.
HYPERPARAMETERS = {
    "mackey_glass": dict(units=300, spectral_radius=1.25, connectivity=0.1, input_scaling=1.0,
                         leak=0.3, ridge=1e-6),
    "narma10": dict(units=300, spectral_radius=0.9, connectivity=0.1, input_scaling=1.0,
                    leak=1.0, ridge=1e-6),
}


def mackey_glass(steps, tau=17, a=0.2, b=0.1, n=10, dt=0.1, x0=1.2, discard=500):
    """x(t) at integer t, `steps` values after `discard` transient ones."""
    per_unit = round(1 / dt)
    lag = round(tau / dt)
    total = (steps + discard) * per_unit
    x = np.full(total + lag, x0)

    def slope(now, delayed):
        return a * delayed / (1.0 + delayed ** n) - b * now

    for i in range(lag, total + lag - 1):
        # The delayed term at the half step is the mean of its two grid neighbours.
        delayed, delayed_next = x[i - lag], x[i - lag + 1]
        delayed_half = 0.5 * (delayed + delayed_next)
        k1 = slope(x[i], delayed)
        k2 = slope(x[i] + 0.5 * dt * k1, delayed_half)
        k3 = slope(x[i] + 0.5 * dt * k2, delayed_half)
        k4 = slope(x[i] + dt * k3, delayed_next)
        x[i + 1] = x[i] + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x[lag + discard * per_unit::per_unit][:steps]


def narma10(steps, seed=0):
    """(u, y), each [steps]."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 0.5, steps)
    y = np.zeros(steps)
    for t in range(9, steps - 1):
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * y[t - 9:t + 1].sum() + 1.5 * u[t - 9] * u[t] + 0.1
    return u, y


def task_series(name):
    """(inputs [TRAIN + TEST, 1], targets [TRAIN + TEST, 1])."""
    if name == "mackey_glass":
        x = mackey_glass(TRAIN + TEST + 10)
        x = (x - x.mean()) / x.std()
        return x[:-10, None], x[10:, None]
    u, y = narma10(TRAIN + TEST + 200)
    return u[200:, None], y[200:, None]  # past NARMA's own start-up


def nrmse(prediction, target):
    return float(np.sqrt(np.mean((prediction - target) ** 2)) / np.std(target))


def zoo_esn(inputs, targets, settings, seed):
    """(test NRMSE, seconds): the zoo's reservoir, states by one graph, ridge readout."""
    started = time.perf_counter()
    layer = RecurrentLayer(ReservoirCell(settings["units"], settings["spectral_radius"], settings["connectivity"],
                                         settings["input_scaling"], 0.0, settings["leak"], seed, dtype="float64"),
                           return_sequences=True, return_state=True, dtype="float64")
    run = tf.function(lambda u, h: layer(u, initial_state=[h]))
    train_states, state = run(tf.constant(inputs[None, :TRAIN]), tf.zeros((1, settings["units"]), tf.float64))
    kernel, bias = fit_ridge(train_states[0].numpy(), targets[:TRAIN], settings["ridge"], WASHOUT)
    test_states, _ = run(tf.constant(inputs[None, TRAIN:]), state)
    prediction = test_states[0].numpy() @ kernel + bias
    return nrmse(prediction, targets[TRAIN:]), time.perf_counter() - started


def reservoirpy_esn(inputs, targets, settings, seed):
    """(test NRMSE, seconds): the same network in reservoirpy."""
    from reservoirpy import mat_gen
    from reservoirpy.nodes import Reservoir, Ridge

    started = time.perf_counter()
    reservoir = Reservoir(settings["units"], lr=settings["leak"], sr=settings["spectral_radius"],
                          input_scaling=settings["input_scaling"], rc_connectivity=settings["connectivity"],
                          input_connectivity=1.0, Win=mat_gen.uniform, W=mat_gen.normal, bias=0.0, seed=seed)
    network = reservoir >> Ridge(ridge=settings["ridge"])
    network.fit(inputs[:TRAIN], targets[:TRAIN], warmup=WASHOUT)
    prediction = network.run(inputs[TRAIN:])  # runs on from the training state
    return nrmse(prediction, targets[TRAIN:]), time.perf_counter() - started


def reservoirpy_version():
    try:
        import reservoirpy
    except ImportError:
        return None
    return reservoirpy.__version__


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.echo_state", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    arguments = parser.parse_args(argv)
    peer = reservoirpy_version()
    print(f"TF {tf.__version__}" + (f", reservoirpy {peer}" if peer else ", reservoirpy not installed"))
    peers = {"zoo": zoo_esn, **({"reservoirpy": reservoirpy_esn} if peer else {})}
    print(f"{'task':13} {'library':12} {'NRMSE mean':>10} {'min':>7} {'max':>7} {'seconds':>8}")
    for name, settings in HYPERPARAMETERS.items():
        inputs, targets = task_series(name)
        for library, esn in peers.items():
            results = [esn(inputs, targets, settings, seed) for seed in arguments.seeds]
            errors = [error for error, _ in results]
            seconds = statistics.median(seconds for _, seconds in results)
            print(f"{name:13} {library:12} {statistics.mean(errors):10.4f} {min(errors):7.4f} "
                  f"{max(errors):7.4f} {seconds:8.2f}", flush=True)


if __name__ == "__main__":
    main()
