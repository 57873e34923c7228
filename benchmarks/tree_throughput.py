"""Tree-LSTM training throughput, nodes per second: the zoo's child-sum Tree-LSTM classifier
(as `recipes.tree` trains it: `zoo.layers.tree`, `MinibatchRule`, Adam, norm clipping)
against a PyTorch twin of the same cell with the same level schedule, in one invocation,
the peers taking turns (`benchmarks.peers.interleaved_seconds`).

    pip install torch==2.13.0      # the peer (the CPU wheel); not a dependency of the project
    python -m benchmarks.tree_throughput [--units 64 128] [--steps 30]

Both train on the same ListOps batches (64 trees of depth 1 to 6, `zoo.data.listops`
with data seed 0), embedding 32, 10 classes. The twin composes one depth per step,
deepest first, as the zoo does: the nodes of that depth, their children's states summed
with `index_add_`, one forget gate per child, the new states written with `index_copy`.
"""

import argparse

import numpy as np
import tensorflow as tf

from benchmarks.peers import torch_update, torch_version, zoo_against_torch
from zoo.data import listops
from zoo.data.tree_batch import tree_batch
from zoo.models.tree_classifier import build_tree_classifier
from zoo.training.minibatch import MinibatchRule

BATCH, EMBEDDING, CLASSES, BATCHES = 64, 32, 10, 4


def listops_batches(max_depth=6, max_tokens=200):
    """BATCHES batches of ListOps trees as (ids, parents, depths, slots, labels) arrays, and
    the vocabulary's size."""
    examples = listops.listops_splits(0, BATCH * BATCHES, 1, 1, 1, max_depth, max_depth + 1, max_tokens).train
    vocabulary = {token: index for index, token in
                  enumerate((*listops.OPERATORS, *listops.DIGITS, listops.CLOSE), start=2)}
    batch = tree_batch([listops.parse_tree(example.text) for example in examples])
    ids = np.vectorize(lambda token: vocabulary.get(token, 0), otypes=[np.int32])(batch.tokens)
    labels = np.array([example.value for example in examples], np.int32)
    arrays = (ids, batch.parents, batch.depths, batch.child_slots, labels)
    return [tuple(array[k * BATCH:(k + 1) * BATCH] for array in arrays) for k in range(BATCHES)], \
        len(vocabulary) + 2


def zoo_trainer(units, batches, vocab_size):
    model = build_tree_classifier(CLASSES, vocab_size, "tree-lstm", units, EMBEDDING)

    def loss(model, batch, training):
        *inputs, labels = batch
        logits = model(list(inputs), training=training)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))

    stacked = tuple(np.concatenate(column) for column in zip(*batches))
    rule = MinibatchRule(model, tf.keras.optimizers.Adam(1e-3), loss, stacked, BATCH, clip_norm=1.0)
    tensors = [tuple(tf.constant(array) for array in batch) for batch in batches]

    def step(n):
        float(rule.train_step(*tensors[n % BATCHES])["loss"])

    return step


def torch_trainer(units, batches, vocab_size):
    import torch

    class ChildSumTreeLSTM(torch.nn.Module):
        """The zoo's `ChildSumTreeLSTM` in PyTorch: gates i, f, c, o, one f per child."""

        def __init__(self):
            super().__init__()
            self.kernel = torch.nn.Linear(EMBEDDING, 4 * units)
            self.recurrent = torch.nn.Parameter(torch.randn(units, 4 * units) / units ** 0.5)

        def forward(self, x, parents, depths):
            u = units
            projected = self.kernel(x)
            h = x.new_zeros(len(x), u)
            c = x.new_zeros(len(x), u)
            for depth in range(int(depths.max()), -1, -1):
                at_depth = depths == depth
                nodes = at_depth.nonzero().squeeze(1)
                children = (depths == depth + 1).nonzero().squeeze(1)
                child_parents = parents[children]
                row = (torch.cumsum(at_depth.long(), 0) - 1)[child_parents]
                child_h, child_c = h[children], c[children]
                summed = x.new_zeros(len(nodes), u).index_add_(0, row, child_h)
                gates = projected[nodes] + summed @ self.recurrent
                i, g = torch.sigmoid(gates[:, :u]), torch.tanh(gates[:, 2 * u:3 * u])
                o = torch.sigmoid(gates[:, 3 * u:])
                f = torch.sigmoid(projected[child_parents, u:2 * u] + child_h @ self.recurrent[:, u:2 * u])
                new_c = i * g + x.new_zeros(len(nodes), u).index_add_(0, row, f * child_c)
                h = h.index_copy(0, nodes, o * torch.tanh(new_c))
                c = c.index_copy(0, nodes, new_c)
            return h

    embedding = torch.nn.Embedding(vocab_size, EMBEDDING, padding_idx=0)
    tree = ChildSumTreeLSTM()
    output = torch.nn.Linear(units, CLASSES)
    modules = torch.nn.ModuleList([embedding, tree, output])
    optimizer = torch.optim.Adam(modules.parameters(), 1e-3)
    prepared = []
    for ids, parents, depths, _, labels in batches:
        width = ids.shape[1]
        starts = np.arange(len(ids))[:, None] * width
        flat_parents = np.where(parents >= 0, parents + starts, 0).ravel()
        prepared.append(tuple(torch.from_numpy(np.ascontiguousarray(a)).long() for a in
                              (ids.ravel(), flat_parents, depths.ravel(), labels, np.arange(len(ids)) * width)))

    def step(n):
        ids, parents, depths, labels, roots = prepared[n % BATCHES]
        states = tree(embedding(ids), parents, depths)
        loss = torch.nn.functional.cross_entropy(output(states[roots]), labels)
        torch_update(optimizer, modules, loss)

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tree_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--units", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per peer and block, taken in turns")
    parser.add_argument("--blocks", type=int, default=3, help="blocks of --steps; the spread is over blocks")
    arguments = parser.parse_args(argv)
    batches, vocab_size = listops_batches()
    nodes = np.mean([(batch[2] >= 0).sum() for batch in batches])
    depth = np.mean([batch[2].max() for batch in batches])
    print(f"ListOps batches: {BATCH} trees, {nodes:.0f} nodes and depth {depth:.1f} on average; "
          f"TensorFlow {tf.__version__}, PyTorch {torch_version() or 'not installed'}")
    print(f"{'units':>5} {'zoo nodes/s':>11} {'torch nodes/s':>13} {'zoo/torch':>9} {'spread zoo':>10} "
          f"{'spread torch':>12}")
    for units in arguments.units:
        peers = {"zoo": zoo_trainer(units, batches, vocab_size)}
        if torch_version():
            peers["torch"] = torch_trainer(units, batches, vocab_size)
        rate, spread, ratio = zoo_against_torch(peers, nodes, arguments.steps, arguments.blocks)
        print(f"{units:>5} {rate['zoo']:>11.0f} {rate.get('torch', float('nan')):>13.0f} {ratio:>9} "
              f"{spread['zoo']:>10} {spread.get('torch', '-'):>12}")


if __name__ == "__main__":
    main()
