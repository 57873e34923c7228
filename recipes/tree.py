"""Recursive networks on parse trees: a Tree-LSTM over each expression's tree against
sequential LSTM and GRU baselines over the same token strings (Deep Learning book, 10.6).

    python -m recipes.tree                             # ListOps, generated offline; the child-sum Tree-LSTM
    python -m recipes.tree --model lstm                # the sequential baseline, same data and budget
    python -m recipes.tree --smoke                     # a tiny configuration, seconds
    python -m recipes.tree --data trees.tsv            # LABEL<TAB>TREE per line, bracket trees
    python -m recipes.tree --resume runs/RUN           # continue a run from its newest checkpoint

ListOps (`zoo.data.listops`): prefix expressions such as `[MAX 2 9 [MIN 4 7 ] 0 ]`, the
label their value 0-9. Train, validation and test hold depths 1 to --max-train-depth;
a held-out `deeper` split nests up to --max-deeper-depth, deeper than any training tree.

A user's file: one `LABEL<TAB>TREE` per line, TREE in the bracket syntax `[HEAD child ...
]` (leaves are tokens, nodes nest), labels any strings; --valid-data the same (default: a
seeded share of --data). The models read the same tokens: the child-sum Tree-LSTM and the
TreeRNN a node per head and leaf, the binary Tree-LSTM the left-branching binarised tree
of every token, the LSTM and GRU the token string.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from export.saved_model import export_run
from export.tree import TreeServer
from zoo.data import listops
from zoo.data.files import read_data_text
from zoo.data.listops import CLOSE, TreeSyntaxError, parse_tree, tokens_of
from zoo.data.tokens import UNKNOWN
from zoo.data.tree_batch import tree_batch
from zoo.evaluation.batched import row_chunks
from zoo.evaluation.classification import class_scores, confusion_matrix, confusion_png
from zoo.evaluation.input_gradients import input_gradient_norms, mean_by_group
from zoo.models.classifier import build_sequence_classifier
from zoo.models.tree_classifier import TREE_LAYERS, build_tree_classifier
from zoo.run.cli import print_paths, train_from_command_line
from zoo.run.config import TrainingConfig, exit_on_input_error, setting
from zoo.run.errors import InputError
from zoo.run.task import Evaluation, Task
from zoo.training.minibatch import MinibatchRule

ASSETS_FILE = "trees.json"
SEQUENTIAL = ("lstm", "gru")
MODELS = (*TREE_LAYERS, *SEQUENTIAL)


@dataclasses.dataclass(frozen=True)
class TreeConfig(TrainingConfig):
    data: str = setting("listops", "'listops' (generated) or a LABEL<TAB>TREE file")
    valid_data: str = setting("", "validation trees in --data's format; empty: a seeded share of --data")
    validation_share: float = setting(0.1, "share of --data that validates when --valid-data is empty",
                                      above=0.0, below=0.5)
    model: str = setting("tree-lstm", "tree-lstm (child-sum), binary-tree-lstm, tree-rnn, or the "
                         "sequential lstm / gru over the token string", choices=MODELS)
    units: int = setting(64, "node (or step) state size", minimum=1, maximum=8192)
    embedding_dim: int = setting(32, "token embedding size", minimum=1, maximum=4096)
    dropout: float = setting(0.0, "dropout before the output layer", minimum=0.0, below=1.0)
    data_seed: int = setting(0, "seed of the generated ListOps splits, apart from --seed so that every "
                             "model and seed sees the same data", minimum=0)
    train_trees: int = setting(20000, "generated training expressions", minimum=1)
    valid_trees: int = setting(1000, "generated validation expressions", minimum=1)
    test_trees: int = setting(1000, "generated test expressions", minimum=1)
    deeper_trees: int = setting(1000, "generated expressions of the deeper split", minimum=1)
    max_train_depth: int = setting(6, "deepest nesting of the training, validation and test "
                                   "expressions", minimum=1, maximum=listops.MAX_DEPTH - 2)
    max_deeper_depth: int = setting(10, "deepest nesting of the deeper split (it starts one deeper "
                                    "than --max-train-depth)", minimum=2, maximum=listops.MAX_DEPTH - 1)
    max_tokens: int = setting(200, "longest expression in tokens, generated or read", minimum=1,
                              maximum=4096)
    batch_size: int = setting(64, "trees per update", minimum=1, maximum=65536)
    steps: int = setting(3000, "parameter updates", minimum=1)
    validate_every: int = setting(500, "steps between validations", minimum=1)
    checkpoint_every: int = setting(500, "steps between checkpoints", minimum=1)
    model_name: str = setting("tree", "TF Serving model name (the export's subfolder)")

    def __post_init__(self):
        super().__post_init__()
        if self.flow_penalty and self.model in TREE_LAYERS:
            raise InputError(f"--flow-penalty: the --model {self.model} network recurses over a node's "
                             "children, not over time steps, and has no step-to-step gradient to "
                             f"regularise; expected 0, or --model {SEQUENTIAL[0]}")
        if self.max_deeper_depth <= self.max_train_depth:
            raise InputError(f"--max-deeper-depth {self.max_deeper_depth}: expected more than "
                             f"--max-train-depth {self.max_train_depth}")


SMOKE = dict(units=8, embedding_dim=8, steps=6, batch_size=16, warmup_steps=2, validate_every=3,
             checkpoint_every=3, histogram_every=3, train_trees=64, valid_trees=32, test_trees=32,
             deeper_trees=32, max_train_depth=2, max_deeper_depth=3, max_tokens=40)


@dataclasses.dataclass
class TreeSplit:
    """One split: its trees, their texts, class ids and depths."""
    trees: list
    texts: list
    labels: np.ndarray
    depths: np.ndarray


@dataclasses.dataclass
class TreeData:
    assets: dict
    train: TreeSplit
    valid: TreeSplit
    test: TreeSplit
    deeper: TreeSplit
    source: str


def read_tree_file(path, flag, max_tokens):
    """[(label, tree, text, line number)] of a LABEL<TAB>TREE file; InputError naming FILE:LINE."""
    rows = []
    for number, line in enumerate(read_data_text(path, flag).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        if "\t" not in line:
            raise InputError(f"{where}: no tab; expected LABEL<TAB>TREE")
        label, text = (part.strip() for part in line.split("\t", 1))
        if not label:
            raise InputError(f"{where}: an empty label; expected LABEL<TAB>TREE")
        try:
            tree = parse_tree(text)
        except TreeSyntaxError as error:
            raise InputError(f"{where}: {error}") from None
        if len(tokens_of(text)) > max_tokens:
            raise InputError(f"{where}: {len(tokens_of(text))} tokens; expected at most --max-tokens {max_tokens}")
        rows.append((label, tree, text, number))
    if not rows:
        raise InputError(f"{path}: no trees; expected LABEL<TAB>TREE lines")
    return rows


def split_of(rows, class_names, source):
    ids = {name: index for index, name in enumerate(class_names)}
    for label, _, _, number in rows:
        if label not in ids:
            raise InputError(f"{source}:{number}: label {label!r} is not among the training labels "
                             f"({len(class_names)} of them); expected a label seen in training")
    return TreeSplit([tree for _, tree, _, _ in rows], [text for _, _, text, _ in rows],
                     np.array([ids[label] for label, *_ in rows], np.int32),
                     np.array([listops.depth(tree) for _, tree, _, _ in rows], np.int32))


def listops_data(config):
    """The generated ListOps splits (see the module docstring)."""
    splits = listops.listops_splits(config.data_seed, config.train_trees, config.valid_trees,
                                    config.test_trees, config.deeper_trees, config.max_train_depth,
                                    config.max_deeper_depth, config.max_tokens)

    def rows(examples):
        return [(str(e.value), parse_tree(e.text), e.text, k) for k, e in enumerate(examples, 1)]

    return [rows(split) for split in (splits.train, splits.validation, splits.test, splits.deeper)]


def user_data(config):
    """(train, valid, test, deeper) rows of a user's files: test is the validation rows,
    and there is no deeper split."""
    rows = read_tree_file(config.data, "--data", config.max_tokens)
    if config.valid_data:
        return rows, read_tree_file(config.valid_data, "--valid-data", config.max_tokens), None
    order = np.random.default_rng(config.seed).permutation(len(rows))
    cut = int(round(len(rows) * config.validation_share))
    if cut < 1 or cut >= len(rows):
        raise InputError(f"--data {config.data!r}: {len(rows)} trees; expected enough for a "
                         f"{config.validation_share:.0%} validation share and a training set")
    return [rows[k] for k in order[cut:]], [rows[k] for k in order[:cut]], None


def vocabulary_of(texts):
    """Training tokens, most frequent first (ties in first-seen order): ids 2.. in the
    PAD_UNKNOWN layout of `zoo.data.tokens` (0 padding and no token, 1 unknown)."""
    counts = {}
    for text in texts:
        for token in tokens_of(text):
            counts[token] = counts.get(token, 0) + 1
    return sorted(counts, key=lambda token: -counts[token])


def model_inputs(split, assets, model):
    """The arrays a model of kind `model` reads for `split` (its first dimension the trees)."""
    ids_of = {token: index for index, token in enumerate(assets["vocabulary"], start=2)}
    if model in SEQUENTIAL:
        width = max(len(tokens_of(text)) for text in split.texts)
        ids = np.zeros((len(split.texts), width), np.int32)
        lengths = np.zeros(len(split.texts), np.int32)
        for row, text in enumerate(split.texts):
            tokens = tokens_of(text)
            ids[row, :len(tokens)] = [ids_of.get(token, UNKNOWN) for token in tokens]
            lengths[row] = len(tokens)
        return ids, lengths
    trees = split.trees if model != "binary-tree-lstm" else [listops.binarized(t) for t in split.trees]
    batch = tree_batch(trees)
    lookup = np.vectorize(lambda token: ids_of.get(token, UNKNOWN) if token else 0, otypes=[np.int32])
    return lookup(batch.tokens), batch.parents, batch.depths, batch.child_slots


class TreeTask(Task):
    name = "tree"
    module = __spec__.name
    assets_file = ASSETS_FILE
    config_class = TreeConfig
    hparams = ("model", "units", "embedding_dim", "dropout", "batch_size", "steps", "lr", "seed",
               "data_seed", "max_train_depth")

    def prepare(self, config, saved_assets=None):
        """Generate ListOps or read the user's trees; InputError on any bad input."""
        if config.data == "listops":
            train, valid, test, deeper = listops_data(config)
            class_names = list(listops.DIGITS)
            source = f"ListOps (data seed {config.data_seed})"
        else:
            train, valid, deeper = user_data(config)
            test = valid
            class_names = sorted({label for label, *_ in train})
            source = config.data
        assets = saved_assets or {"class_names": class_names,
                                  "vocabulary": vocabulary_of([text for _, _, text, _ in train]),
                                  "model": config.model, "max_tokens": config.max_tokens}
        if assets["class_names"] != class_names:
            raise InputError(f"{source}: labels {class_names} differ from the run's {assets['class_names']}; "
                             "resume with the run's own data")
        if config.batch_size > len(train):
            raise InputError(f"{source}: {len(train)} training trees, fewer than one batch "
                             f"(--batch-size {config.batch_size})")
        valid_source = config.valid_data or config.data
        splits = [split_of(train, class_names, config.data), split_of(valid, class_names, valid_source),
                  split_of(test, class_names, valid_source),
                  split_of(deeper, class_names, config.data) if deeper else None]
        return TreeData(assets, *splits, source)

    def run_name(self, config):
        return f"{config.model}-{config.units}"

    def describe(self, config, data):
        sizes = ", ".join(f"{len(split.labels)} {name}" for name, split in
                          (("training", data.train), ("validation", data.valid), ("test", data.test),
                           ("deeper", data.deeper)) if split is not None)
        return (f"data: {data.source}, {len(data.assets['class_names'])} classes, "
                f"{len(data.assets['vocabulary'])} tokens; {sizes} trees")

    def build_model(self, config, assets, inference=False):
        vocab_size = len(assets["vocabulary"]) + 2
        dropout = 0.0 if inference else config.dropout
        classes = len(assets["class_names"])
        if config.model in SEQUENTIAL:
            return build_sequence_classifier(classes, config.model, config.units, pool="last",
                                             dropout=dropout, seed=config.seed, vocab_size=vocab_size,
                                             embedding_dim=config.embedding_dim, name="tree")
        return build_tree_classifier(classes, vocab_size, config.model, config.units, config.embedding_dim,
                                     dropout, config.seed, name="tree")

    def update_rule(self, config, model, optimizer, data):
        def loss(model, batch, training):
            *inputs, labels = batch
            logits = model(batch_width(inputs, config.model), training=training)
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))

        inputs = model_inputs(data.train, data.assets, config.model)
        return MinibatchRule(model, optimizer, loss, (*inputs, data.train.labels), config.batch_size,
                             config.seed, config.clip_norm, config.clip_value, config.jit_compile,
                             config.flow_penalty)

    def evaluator(self, config, model, data):
        names = data.assets["class_names"]
        logits_of = tf.function(lambda *inputs: model(batch_width(inputs, config.model), training=False),
                                reduce_retracing=True)  # each split has its own width
        prepared = {}

        def scored(name, split):
            if name not in prepared:  # the arrays of a split, built once per run
                prepared[name] = model_inputs(split, data.assets, config.model)
            logits = np.concatenate([logits_of(*chunk).numpy() for chunk in row_chunks(*prepared[name])])
            loss = float(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(split.labels, logits)))
            return loss, logits.argmax(-1)

        def evaluate(step):
            metrics, outputs, images = {}, {}, {}
            splits = [("train", data.train), ("valid", data.valid)]
            if step >= config.steps:
                splits += [("test", data.test)] + ([("deeper", data.deeper)] if data.deeper else [])
            for name, split in splits:
                loss, predictions = scored(name, split)
                matrix = confusion_matrix(split.labels, predictions, len(names))
                scores = class_scores(matrix)
                metrics[f"{name}/accuracy"] = scores["accuracy"]
                by_depth = accuracy_by_depth(split.depths, predictions == split.labels)
                metrics.update({f"{name}_depth/accuracy_{depth}": accuracy for depth, accuracy in by_depth.items()})
                outputs[f"{name}_accuracy_by_depth"] = by_depth
                if name == "train":
                    continue
                norms = input_gradient_norms(model, prepared[name], split.labels)
                keep, depth = token_positions(prepared[name][0], split, config.model)
                by_depth = mean_by_group(norms, depth, keep)
                metrics.update({f"{name}_gradient/depth_{depth}": norm for depth, norm in by_depth.items()})
                outputs[f"{name}_gradient_by_depth"] = by_depth
                metrics[f"{name}/loss"] = loss
                images[f"{name}/confusion_matrix"] = confusion_png(matrix, names, f"{name}, step {step}")
                outputs[f"{name}_confusion"] = matrix.tolist()
            summary = f"valid loss {metrics['valid/loss']:.4f}, accuracy {metrics['valid/accuracy']:.4f}"
            if "test/accuracy" in metrics:
                summary += f"; test accuracy {metrics['test/accuracy']:.4f}"
            if "deeper/accuracy" in metrics:
                summary += f", deeper {metrics['deeper/accuracy']:.4f}"
            return Evaluation(metrics, summary, images=images, outputs=outputs)

        return evaluate

    def serving(self, model, assets, folder, budget=0):
        model_kind = assets["model"]
        reads = ("tokens" if model_kind in SEQUENTIAL else "binarized" if model_kind == "binary-tree-lstm"
                 else "tree")
        return TreeServer(model, assets, folder, budget, reads, assets["max_tokens"])


def batch_width(inputs, model):
    """The model's inputs with a sequential model's ids cut to the batch's longest string.
    Rows are padded to the longest string of the data (135 tokens in the default ListOps
    training split, against 60 for the longest of a batch of 64 on average), and the steps
    past a batch's longest change nothing: they are masked, and the pooled state is each
    row's last real step."""
    if model not in SEQUENTIAL:
        return list(inputs)
    ids, lengths = inputs
    return [ids[:, :tf.reduce_max(lengths)], lengths]


def token_positions(ids, split, model):
    """(keep, depth) [trees, positions] for a model's input ids: where a head or leaf token
    sits (not `]`, not padding, not a binarised tree's inner node) and that token's nesting
    depth, the number of lists around it (0 for the root's head)."""
    keep = np.zeros(ids.shape, bool)
    depth = np.zeros(ids.shape, np.int32)
    for row, text in enumerate(split.texts):
        level, nesting = 0, []
        for token in tokens_of(text):
            level -= token == CLOSE
            nesting.append(None if token == CLOSE else level)
            level += token.startswith("[")
        if model not in SEQUENTIAL and model != "binary-tree-lstm":
            nesting = [level for level in nesting if level is not None]  # nodes: no `]`
        positions = np.flatnonzero(ids[row] > 0)  # the model's tokens, in string order
        for position, level in zip(positions, nesting):
            if level is not None:
                keep[row, position], depth[row, position] = True, level
    return keep, depth


def accuracy_by_depth(depths, correct):
    """{depth: accuracy of the trees of that depth} (int keys, sorted)."""
    return {int(depth): float(correct[depths == depth].mean()) for depth in np.unique(depths)}


TASK = TreeTask()


@exit_on_input_error
def main(argv=None):
    config, result = train_from_command_line(
        TASK, argv, SMOKE, "Classify parse trees with a Tree-LSTM, or their token strings with an LSTM or GRU.")
    if result is None:
        return
    line = f"\ntest accuracy {result['test/accuracy']:.4f}"
    if "deeper/accuracy" in result:
        line += f", deeper split {result['deeper/accuracy']:.4f}"
    print(f"{line} (validation accuracy {result['valid/accuracy']:.4f}) after {result['steps']} steps")
    exported = export_run(result["run_dir"], config.export_dir or None, config.model_name)
    print_paths(TASK, result, exported)


if __name__ == "__main__":
    main()
