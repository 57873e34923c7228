"""Training throughput of the tag recipe's model against the same model in PyTorch
(`nn.LSTM(bidirectional=True, num_layers=2)` over packed sequences), in one invocation.

    pip install torch==2.13.0      # the peer (the CPU wheel)
    python -m benchmarks.tag_throughput [--units 128] [--batch 32] [--steps 60]

Both peers train the recipe's default architecture (a word embedding of 64, two
bidirectional LSTM layers, concatenated directions, one softmax layer per head: case and
punctuation) on the same batches of the default data (restoration on the built-in
corpus, at most 32 words per example, right-padded), the loss each head's cross-entropy
over the real words, summed; Adam and global-norm clipping at 1; no dropout (PyTorch's
packed LSTM has no variational input dropout to match). The zoo trains through the
recipe's own update rule. The peers take turns (`benchmarks.peers.interleaved_seconds`),
each figure a median, so the ratio comes from one run on one machine.
"""

import argparse

import keras
import numpy as np
import tensorflow as tf

from benchmarks.peers import interleaved_seconds, torch_update, torch_version
from recipes.tag import TASK, TagConfig
from zoo.training.loop import build_optimizer

WINDOWS = 4  # distinct batches each peer cycles through


def batches(data, batch, count=WINDOWS):
    rng = np.random.default_rng(0)
    rows = [rng.choice(len(data.train.lengths), batch, replace=False) for _ in range(count)]
    return [(data.train.ids[r], data.train.lengths[r], *[labels[r] for labels in data.train.labels]) for r in rows]


def zoo_trainer(config, data, examples):
    rule = TASK.update_rule(config, TASK.build_model(config, data.assets), build_optimizer(config), data)

    def step(n):
        float(rule.train_step(*[tf.constant(a) for a in examples[n % WINDOWS]])["loss"])

    return step


def torch_trainer(config, data, examples):
    """`step(n)`: one update of the same model in PyTorch, packed sequences."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.set_num_threads(tf.config.threading.get_intra_op_parallelism_threads() or torch.get_num_threads())
    vocab = len(data.assets["vocabulary"]) + 2
    embedding = torch.nn.Embedding(vocab, config.embedding_dim)
    lstm = torch.nn.LSTM(config.embedding_dim, config.units, num_layers=config.layers, batch_first=True,
                         bidirectional=True)
    heads = torch.nn.ModuleList([torch.nn.Linear(2 * config.units, len(names)) for names in data.assets["labels"]])
    modules = torch.nn.ModuleList([embedding, lstm, heads])
    optimizer = torch.optim.Adam(modules.parameters(), config.lr)
    prepared = [[torch.from_numpy(np.asarray(a, np.int64)) for a in batch] for batch in examples]

    def step(n):
        ids, lengths, *labels = prepared[n % WINDOWS]
        packed = pack_padded_sequence(embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        states, _ = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=ids.shape[1])
        valid = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
        loss = sum(torch.nn.functional.cross_entropy(head(states)[valid], target[valid])
                   for head, target in zip(heads, labels))
        torch_update(optimizer, modules, loss)

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tag_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--units", nargs="+", type=int, default=[128])
    parser.add_argument("--batch", nargs="+", type=int, default=[32])
    parser.add_argument("--steps", type=int, default=60, help="timed updates per peer (default: %(default)s)")
    arguments = parser.parse_args(argv)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, PyTorch {torch_version() or 'not installed'}")
    print(f"{'units':>5} {'batch':>5} {'zoo words/s':>12} {'torch words/s':>13} {'zoo/torch':>9}")
    data = None
    for units in arguments.units:
        for batch in arguments.batch:
            config = TagConfig(units=units, batch_size=batch, dropout=0.0)
            data = data or TASK.prepare(config)
            examples = batches(data, batch)
            words = np.mean([b[1].sum() for b in examples])
            steps = {"zoo": zoo_trainer(config, data, examples)}
            if torch_version() is not None:
                steps["torch"] = torch_trainer(config, data, examples)
            seconds = interleaved_seconds(steps, arguments.steps)
            rate = {name: words / seconds[name] for name in steps}
            rate.setdefault("torch", float("nan"))
            print(f"{units:5d} {batch:5d} {rate['zoo']:12.0f} {rate['torch']:13.0f} {rate['zoo'] / rate['torch']:9.2f}",
                  flush=True)
            keras.utils.clear_session()


if __name__ == "__main__":
    main()
