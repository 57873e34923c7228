"""Training throughput of the classify recipe's model: the zoo's fused masked passes, the
zoo's own cell loop, Keras' built-in `Bidirectional(GRU)` and the same model in PyTorch
(`nn.GRU(bidirectional=True)` over packed sequences), in one invocation.

    python -m benchmarks.classify_throughput              # default model, batch 32, JapaneseVowels
    python -m benchmarks.classify_throughput --units 64 256 --batch 32 128

Every peer trains the recipe's default architecture (one bidirectional GRU layer,
concatenated directions, attention pooling over the valid steps, a softmax layer) on the
same JapaneseVowels batches (right-padded to the longest training sequence, 26 steps),
with Adam and global-norm clipping at 1, and without dropout (PyTorch's packed GRU has no
variational input dropout to match). A step is a whole update; the peers take turns
(`benchmarks.peers.interleaved_seconds`) and each figure is a median, so the ratios come
from one run on one machine.
"""

import argparse
import dataclasses

import keras
import numpy as np
import tensorflow as tf

from benchmarks.peers import interleaved_seconds, torch_update, torch_version
from recipes.classify import TASK, ClassifyConfig
from zoo.layers.masks import StepMask
from zoo.layers.pooling import MaskedPooling
from zoo.training.loop import build_optimizer

WINDOWS = 4  # distinct batches each peer cycles through


def batches(data, batch, count=WINDOWS):
    rng = np.random.default_rng(0)
    rows = [rng.choice(len(data.train.labels), batch, replace=False) for _ in range(count)]
    return [(data.train.inputs[r], data.train.lengths[r], data.train.labels[r]) for r in rows]


def keras_trainer(model, config, examples):
    """`step(n)`: one update of `model` through the recipe's own update rule."""
    rule = TASK.update_rule(config, model, build_optimizer(config), examples)

    def step(n):
        result = rule.train_step(*[tf.constant(a) for a in examples.batches[n % WINDOWS]])
        float(result["loss"])  # wait for it

    return step


def keras_builtin_model(config, assets):
    """The same architecture with `keras.layers.Bidirectional(keras.layers.GRU)` and Keras'
    own mask handling (its loop on a CPU; cuDNN on a GPU)."""
    sequences = keras.Input((None, assets["features"]))
    lengths = keras.Input((), dtype="int32")
    mask = StepMask()(sequences, lengths)
    hidden = keras.layers.Normalization(mean=assets["mean"], variance=assets["variance"])(sequences)
    hidden = keras.layers.Bidirectional(keras.layers.GRU(config.units, return_sequences=True))(hidden, mask=mask)
    pooled = MaskedPooling("attention")(hidden, mask)
    return keras.Model([sequences, lengths], keras.layers.Dense(len(assets["class_names"]))(pooled))


def torch_trainer(config, assets, examples):
    """`step(n)`: one update of the same model in PyTorch, packed sequences."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.set_num_threads(tf.config.threading.get_intra_op_parallelism_threads() or torch.get_num_threads())
    units, features = config.units, assets["features"]
    mean = torch.tensor(assets["mean"], dtype=torch.float32)
    std = torch.tensor(assets["variance"], dtype=torch.float32).sqrt()
    gru = torch.nn.GRU(features, units, batch_first=True, bidirectional=True)
    hidden_layer, score = torch.nn.Linear(2 * units, 64), torch.nn.Linear(64, 1, bias=False)
    output = torch.nn.Linear(2 * units, len(assets["class_names"]))
    modules = torch.nn.ModuleList([gru, hidden_layer, score, output])
    optimizer = torch.optim.Adam(modules.parameters(), config.lr)
    prepared = [(torch.from_numpy(x), torch.from_numpy(lengths.astype(np.int64)), torch.from_numpy(y))
                for x, lengths, y in examples.batches]

    def step(n):
        x, lengths, y = prepared[n % WINDOWS]
        packed = pack_padded_sequence((x - mean) / std, lengths, batch_first=True, enforce_sorted=False)
        sequence, _ = pad_packed_sequence(gru(packed)[0], batch_first=True, total_length=x.shape[1])
        valid = torch.arange(x.shape[1])[None, :] < lengths[:, None]
        scores = score(torch.tanh(hidden_layer(sequence)))[..., 0].masked_fill(~valid, -1e9)
        pooled = (torch.softmax(scores, dim=1)[..., None] * sequence).sum(dim=1)
        loss = torch.nn.functional.cross_entropy(output(pooled), y)
        torch_update(optimizer, modules, loss)

    return step


@dataclasses.dataclass
class Examples:
    """The trainer's view of the data: its training arrays and the benchmark's batches."""
    train: object
    batches: list


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.classify_throughput",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--units", nargs="+", type=int, default=[64])
    parser.add_argument("--batch", nargs="+", type=int, default=[32])
    parser.add_argument("--steps", type=int, default=60, help="timed updates per peer (default: %(default)s)")
    arguments = parser.parse_args(argv)
    has_torch = torch_version() is not None
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, PyTorch {torch_version() or 'not installed'}")
    print(f"{'units':>5} {'batch':>5} {'zoo ex/s':>9} {'loop ex/s':>9} {'keras ex/s':>10} {'torch ex/s':>10} "
          f"{'zoo/loop':>8} {'zoo/keras':>9} {'zoo/torch':>9}")
    for units in arguments.units:
        for batch in arguments.batch:
            config = ClassifyConfig(units=units, batch_size=batch, dropout=0.0)
            data = TASK.prepare(config)
            examples = Examples(data.train, batches(data, batch))
            loop_model = TASK.build_model(config, data.assets)
            steps = {"zoo": keras_trainer(TASK.build_model(config, data.assets), config, examples),
                     "loop": keras_trainer(_unfused(loop_model), config, examples),
                     "keras": keras_trainer(keras_builtin_model(config, data.assets), config, examples)}
            if has_torch:
                steps["torch"] = torch_trainer(config, data.assets, examples)
            seconds = interleaved_seconds(steps, arguments.steps)
            rate = {name: batch / seconds[name] for name in steps}
            rate.setdefault("torch", float("nan"))
            print(f"{units:5d} {batch:5d} {rate['zoo']:9.0f} {rate['loop']:9.0f} {rate['keras']:10.0f} "
                  f"{rate['torch']:10.0f} {rate['zoo'] / rate['loop']:8.2f} {rate['zoo'] / rate['keras']:9.2f} "
                  f"{rate['zoo'] / rate['torch']:9.2f}", flush=True)
            keras.utils.clear_session()


def _unfused(model):
    """`model` with every recurrent layer running the cell loop (the fused pass off)."""
    for layer in model.layers:
        for inner in (getattr(layer, "forward_layer", None), getattr(layer, "backward_layer", None), layer):
            if inner is not None and hasattr(inner, "fused"):
                inner.fused = False
    return model


if __name__ == "__main__":
    main()
