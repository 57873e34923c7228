"""Sequence labelling, one label per word, with a bidirectional recurrent network: the
output at each step sees the words before and after it (Goodfellow et al., Deep
Learning, 10.3).

    python -m recipes.tag                          # punctuation and case restoration, < 5 min on 2 cores
    python -m recipes.tag --smoke                  # a tiny configuration, seconds
    python -m recipes.tag --data train.conll       # CoNLL: TOKEN<TAB>LABEL[<TAB>LABEL...] lines
    python -m recipes.tag --data train.conll --valid-data dev.conll --test-data test.conll
    python -m recipes.tag --no-bidirectional       # the forward direction only
    python -m recipes.tag --resume runs/RUN        # continue a run from its newest checkpoint

The default data restores punctuation and case on the built-in corpus
(`zoo.data.restoration`): two heads, each word's case and the punctuation after it.
CoNLL data (`zoo.data.conll`) has a head per label column. Without --valid-data or
--test-data, a seeded shuffle of the distinct sentences (paragraphs) holds out their
shares. The loss is each head's cross-entropy averaged over the real words of a batch,
summed over the heads with --head-weights. Validation and test report per-label
precision, recall and F1, micro and macro F1, token accuracy and (BIO / BIOES columns)
entity F1 (`zoo.evaluation.tagging`). The run exports `tag` (raw text) and `tag_tokens`
(split tokens) for TensorFlow Serving.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from export.portable import PortableForms
from export.saved_model import export_run
from export.tag import TaggerServer
from zoo.cells import CELLS
from zoo.data import restoration
from zoo.data.conll import check_known_labels, chunked, distinct, read_conll, shuffled_split
from zoo.data.tokens import UNKNOWN
from zoo.evaluation.batched import row_chunks
from zoo.evaluation.classification import confusion_matrix, confusion_png
from zoo.evaluation.tagging import column_scores, entity_scheme, majority_baseline, word_identity_baseline
from zoo.layers.stack import MERGES
from zoo.models.tagger import build_tagger
from zoo.run.cli import print_paths, train_from_command_line
from zoo.run.config import TrainingConfig, exit_on_input_error, setting
from zoo.run.errors import InputError
from zoo.run.task import Evaluation, Task
from zoo.training.minibatch import MinibatchRule

ASSETS_FILE = "tagger.json"
DEFAULT_DATA = "default"
UNKNOWN_ID = UNKNOWN  # zoo.data.tokens' PAD_UNKNOWN layout: 0 padding, 1 unknown, then the words
SHOWN_SENTENCES = 12  # of validation, in TensorBoard's text tab


@dataclasses.dataclass(frozen=True)
class TagConfig(TrainingConfig):
    data: str = setting(DEFAULT_DATA, "CoNLL file, folder or glob (TOKEN<TAB>LABEL lines); 'default' "
                        "restores punctuation and case on the built-in corpus")
    valid_data: str = setting("", "validation sentences in --data's form; empty: a seeded share of --data")
    test_data: str = setting("", "test sentences in --data's form; empty: a seeded share of --data")
    valid_share: float = setting(0.1, "share of the distinct sentences that validates without --valid-data",
                                 above=0.0, below=0.5)
    test_share: float = setting(0.1, "share of the distinct sentences held out as the test set without "
                                "--test-data", above=0.0, below=0.5)
    data_seed: int = setting(0, "seed of the shuffle that splits the sentences (apart from --seed, so "
                             "that seeds compare models on one split)", minimum=0)
    max_words: int = setting(32, "words per example; a longer sentence is cut into near-equal pieces "
                             "(32 pads the default data's pieces least)",
                             minimum=1, maximum=4096)
    max_tokens: int = setting(20000, "vocabulary size, padding and unknown included", minimum=3)
    min_count: int = setting(2, "training occurrences a word needs to get its own id; rarer words read "
                             "as the unknown id, which so learns what unseen words look like", minimum=1)
    embedding_dim: int = setting(64, "word embedding size", minimum=1, maximum=4096)
    cell: str = setting("lstm", "recurrent cell", choices=tuple(CELLS))
    units: int = setting(128, "hidden size per direction", minimum=1, maximum=8192)
    layers: int = setting(2, "stacked recurrent layers", minimum=1, maximum=16)
    bidirectional: bool = setting(True, "a forward and a reversed pass per layer; off: the past only")
    merge: str = setting("concat", "how a bidirectional layer merges its directions", choices=MERGES)
    residual: bool = setting(False, "skip connections from each layer's input to its output, from the "
                             "second layer on")
    dropout: float = setting(0.3, "variational dropout on each layer's input and before the heads; the "
                             "default data is small (35k training words) and 0.2 overfitted it",
                             minimum=0.0, below=1.0)
    head_weights: str = setting("", "comma-separated weight of each head's loss, in head order; empty: "
                                "1 each")
    batch_size: int = setting(32, "sentences per update", minimum=1, maximum=65536)
    steps: int = setting(1000, "parameter updates", minimum=1)
    lr: float = setting(3e-3, "peak learning rate", above=0.0, maximum=10.0)
    warmup_steps: int = setting(50, "linear warm-up steps", minimum=0)
    validate_every: int = setting(250, "steps between validations", minimum=1)
    checkpoint_every: int = setting(250, "steps between checkpoints", minimum=1)
    model_name: str = setting("tag", "TF Serving model name (the export's subfolder)")


SMOKE = dict(units=8, layers=1, embedding_dim=8, steps=6, batch_size=8, warmup_steps=2, validate_every=3,
             checkpoint_every=3, histogram_every=3, max_words=24)


@dataclasses.dataclass
class Split:
    """One split as model inputs: word ids [n, time], lengths [n], label ids per head
    [n, time], and its words (for the sample table and the baselines)."""
    ids: np.ndarray
    lengths: np.ndarray
    labels: list
    words: list

    def label_rows(self, head):
        return [self.labels[head][row, :length] for row, length in enumerate(self.lengths)]


@dataclasses.dataclass
class TagData:
    assets: dict
    train: Split
    valid: Split
    test: Split
    source: str


def head_weights(config, columns):
    """The heads' loss weights of `--head-weights` (1 each by default)."""
    if not config.head_weights:
        return [1.0] * len(columns)
    try:
        weights = [float(part) for part in config.head_weights.split(",")]
    except ValueError:
        weights = []
    if len(weights) != len(columns) or not all(np.isfinite(w) and w >= 0 for w in weights) or not any(weights):
        raise InputError(f"--head-weights {config.head_weights!r}: expected {len(columns)} comma-separated "
                         f"non-negative numbers, not all 0, one per head ({', '.join(columns)})")
    return weights


def read_splits(config):
    """(train, valid, test) `Sentence` lists, the column names, the label names per column
    (training's, sorted; the default task's fixed ones), and the kind of data: "restore"
    (the default task, folded words) or "conll" (tokens as written)."""
    if config.data in ("", DEFAULT_DATA):
        sentences = restoration.default_sentences()
        splits = shuffled_split(sentences, (config.valid_share, config.test_share), config.data_seed)
        valid, test, train = splits
        return (train, valid, test, list(restoration.COLUMNS),
                [list(restoration.CASE_LABELS), list(restoration.PUNCTUATION_LABELS)], "restore")
    train = read_conll(config.data)
    columns = [f"column_{k + 1}" for k in range(len(train[0].labels))]
    given = {name: read_conll(source, flag, len(columns)) if source else None for name, source, flag in
             (("valid", config.valid_data, "--valid-data"), ("test", config.test_data, "--test-data"))}
    missing = [name for name in ("valid", "test") if given[name] is None]
    if missing:
        shares = [config.valid_share if name == "valid" else config.test_share for name in missing]
        *held_out, train = shuffled_split(distinct(train), shares, config.data_seed)
        given.update(zip(missing, held_out))
    names = [sorted({label for sentence in train for label in sentence.labels[k]}) for k in range(len(columns))]
    check_known_labels(train, given["valid"] + given["test"], columns)
    return train, given["valid"], given["test"], columns, names, "conll"


def learn_word_vocabulary(sentences, max_tokens, min_count):
    """Training words seen at least `min_count` times, most frequent first (ties in
    code-point order), at most `max_tokens` ids with the padding and unknown ones."""
    counts = {}
    for sentence in sentences:
        for word in sentence.tokens:
            counts[word] = counts.get(word, 0) + 1
    ranked = sorted((word for word, count in counts.items() if count >= min_count),
                    key=lambda word: (-counts[word], word))
    return ranked[:max_tokens - 2]


def split_of(sentences, assets):
    """`Split` of `sentences` (already cut to the run's max_words)."""
    ids_of = {word: index + 2 for index, word in enumerate(assets["vocabulary"])}
    label_ids = [{name: index for index, name in enumerate(names)} for names in assets["labels"]]
    lengths = np.array([len(s.tokens) for s in sentences], np.int32)
    ids = np.zeros((len(sentences), lengths.max()), np.int32)
    labels = [np.zeros_like(ids) for _ in assets["columns"]]
    for row, sentence in enumerate(sentences):
        ids[row, :lengths[row]] = [ids_of.get(word, UNKNOWN_ID) for word in sentence.tokens]
        for head, column in enumerate(sentence.labels):
            labels[head][row, :lengths[row]] = [label_ids[head][label] for label in column]
    return Split(ids, lengths, labels, [s.tokens for s in sentences])


class TagTask(Task):
    name = "tag"
    module = __spec__.name
    assets_file = ASSETS_FILE
    config_class = TagConfig
    hparams = ("cell", "units", "layers", "bidirectional", "residual", "dropout", "head_weights",
               "batch_size", "steps", "lr", "seed")
    fused_passes_only = True  # every cell of CELLS has a fused pass; the heads are dense layers

    def prepare(self, config, saved_assets=None):
        """Read and check the data, split it, learn the vocabulary from the training split;
        InputError on any bad input."""
        train, valid, test, columns, names, kind = read_splits(config)
        head_weights(config, columns)
        if saved_assets is not None:
            assets = saved_assets
            if assets["columns"] != columns or assets["labels"] != names or (kind == "restore") != assets["restore"]:
                raise InputError(f"{config.data}: label columns {columns} or their labels differ from the run's "
                                 f"{assets['columns']}; resume with the run's own data")
        else:
            assets = {"columns": columns, "labels": names, "restore": kind == "restore",
                      "vocabulary": learn_word_vocabulary(train, config.max_tokens, config.min_count)}
        train, valid, test = (chunked(split, config.max_words) for split in (train, valid, test))
        if config.batch_size > len(train):
            raise InputError(f"{config.data}: {len(train)} training examples after the split, fewer than one "
                             f"batch (--batch-size {config.batch_size})")
        return TagData(assets, split_of(train, assets), split_of(valid, assets), split_of(test, assets),
                       "the built-in corpus (punctuation and case)" if kind == "restore" else config.data)

    def run_name(self, config):
        return f"{'bi' if config.bidirectional else ''}{config.cell}-{config.layers}x{config.units}"

    def describe(self, config, data):
        sizes = ", ".join(f"{len(split.lengths)} {name} ({int(split.lengths.sum())} words)" for name, split in
                          (("training", data.train), ("validation", data.valid), ("test", data.test)))
        heads = "; ".join(f"{column}: {len(names)} labels" for column, names in
                          zip(data.assets["columns"], data.assets["labels"]))
        return (f"data: {data.source}; {sizes}; vocabulary {len(data.assets['vocabulary']) + 2} ids; {heads}")

    def build_model(self, config, assets, inference=False):
        return build_tagger([len(names) for names in assets["labels"]], len(assets["vocabulary"]) + 2,
                            config.embedding_dim, config.cell, config.units, config.layers, config.bidirectional,
                            config.merge, config.residual, 0.0 if inference else config.dropout, config.seed,
                            head_names=assets["columns"], name="tag")

    def update_rule(self, config, model, optimizer, data):
        weights = head_weights(config, data.assets["columns"])

        def loss(model, batch, training):
            ids, lengths, *labels = batch
            return tagging_loss(model, ids, lengths, labels, weights, training)

        train = data.train
        return MinibatchRule(model, optimizer, loss, (train.ids, train.lengths, *train.labels),
                             config.batch_size, config.seed, config.clip_norm, config.clip_value,
                             config.jit_compile, config.flow_penalty)

    def evaluator(self, config, model, data):
        assets = data.assets
        columns, names = assets["columns"], assets["labels"]
        schemes = [entity_scheme(column_names) for column_names in names]
        weights = head_weights(config, columns)
        logits_of = tf.function(lambda ids, lengths: tf.nest.flatten(model([ids, lengths], training=False)))

        def predicted(split):
            """(mean loss over words, predicted label rows per head)."""
            chunks = [logits_of(ids, lengths) for ids, lengths in row_chunks(split.ids, split.lengths)]
            logits = [np.concatenate([chunk[head].numpy() for chunk in chunks]) for head in range(len(columns))]
            loss = float(heads_loss(logits, split.lengths, split.labels, weights)[0])
            return loss, [[logits[head][row, :n].argmax(-1) for row, n in enumerate(split.lengths)]
                          for head in range(len(columns))]

        def evaluate(step):
            metrics, images, texts, outputs = {}, {}, {}, {}
            splits = [("valid", data.valid)] + ([("test", data.test)] if step >= config.steps else [])
            for name, split in splits:
                loss, predictions = predicted(split)
                metrics[f"{name}/loss"] = loss
                for head, column in enumerate(columns):
                    true = split.label_rows(head)
                    scores = column_scores(true, predictions[head], names[head], schemes[head])
                    outputs[f"{name}_scores/{column}"] = scores
                    for key in ("accuracy", "micro_f1", "macro_f1", "entity_f1"):
                        if key in scores:
                            metrics[f"{name}/{column}/{key}"] = scores[key]
                    for key in ("precision", "recall", "f1"):
                        for label, value in scores[key].items():
                            metrics[f"{name}_{key}/{column}/{label}"] = value
                    matrix = confusion_matrix(np.concatenate(true), np.concatenate(predictions[head]),
                                              len(names[head]))
                    images[f"{name}/{column}/confusion_matrix"] = confusion_png(
                        matrix, names[head], f"{name} {column}, step {step}")
                texts[f"{name}/sample"] = sample_table(split, predictions, assets)
            summary = "valid loss {:.4f}; ".format(metrics["valid/loss"]) + "; ".join(
                f"{column} micro-F1 {metrics[f'valid/{column}/micro_f1']:.4f} macro-F1 "
                f"{metrics[f'valid/{column}/macro_f1']:.4f}" for column in columns)
            if "test/loss" in metrics:
                summary += "; test " + ", ".join(f"{column} macro-F1 {metrics[f'test/{column}/macro_f1']:.4f}"
                                                 for column in columns)
                outputs["baselines"] = baseline_scores(data)
            return Evaluation(metrics, summary, texts=texts, images=images, outputs=outputs)

        return evaluate

    def serving(self, model, assets, folder, budget=0):
        return TaggerServer(model, assets, folder, budget)

    def portable_signatures(self, model, assets):
        strings = "strings in: StringSplit, the word folding's regex ops and the vocabulary's hash table do not convert"
        return PortableForms([], {"tag": strings, "tag_tokens": strings}, {})


def tagging_loss(model, ids, lengths, labels, weights, training):
    """(sum over heads h of weights[h] x the mean over real words of head h's
    cross-entropy, the number of real words): the minibatch rule's (mean, weight) form,
    so replicas weigh their means by their words."""
    return heads_loss(tf.nest.flatten(model([ids, lengths], training=training)), lengths, labels, weights)


def heads_loss(logits, lengths, labels, weights):
    """`tagging_loss` of the heads' `logits` [batch, time, labels_h] already computed."""
    mask = tf.sequence_mask(lengths, tf.shape(logits[0])[1], dtype=tf.float32)
    words = tf.reduce_sum(mask)
    total = tf.add_n([weight * tf.reduce_sum(mask * tf.nn.sparse_softmax_cross_entropy_with_logits(
        tf.cast(target, tf.int32), head_logits)) for weight, target, head_logits in zip(weights, labels, logits)])
    return total / tf.maximum(words, 1.0), words


def baseline_scores(data):
    """{baseline: {column: test scores}} of the majority and word-identity baselines."""
    names = data.assets["labels"]
    scores = {}
    for baseline, predict in (("majority", majority_baseline), ("word_identity", word_identity_baseline)):
        scores[baseline] = {}
        for head, column in enumerate(data.assets["columns"]):
            guesses = predict(data.train.words, data.train.label_rows(head), data.test.words)
            scores[baseline][column] = column_scores(data.test.label_rows(head), guesses, names[head],
                                                     entity_scheme(names[head]))
    return scores


def sample_table(split, predictions, assets):
    """Markdown: the first SHOWN_SENTENCES sentences, restored (default task) or tagged."""
    rows = range(min(SHOWN_SENTENCES, len(split.lengths)))
    if assets["restore"]:
        def restored(label_rows):
            words = tf.ragged.constant([split.words[row] for row in rows]).to_tensor("")
            ids = [tf.ragged.constant([label_rows[head][row].tolist() for row in rows]).to_tensor(0)
                   for head in range(2)]
            return restoration.restore_text(words, ids[0], ids[1], split.lengths[:len(rows)]).numpy()

        truth, guess = restored([split.label_rows(0), split.label_rows(1)]), restored(predictions)
        lines = ["| text | restored |", "| --- | --- |"]
        lines += [f"| {escape(t.decode())} | {escape(g.decode())} |" for t, g in zip(truth, guess)]
        return "\n".join(lines)
    columns = assets["columns"]
    lines = ["| word | " + " | ".join(f"{c} (true / predicted)" for c in columns) + " |",
             "| --- |" + " --- |" * len(columns)]
    for row in rows[:3]:
        for t, word in enumerate(split.words[row]):
            cells = [f"{assets['labels'][h][split.labels[h][row, t]]} / {assets['labels'][h][predictions[h][row][t]]}"
                     for h in range(len(columns))]
            lines.append(f"| {escape(word)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def escape(text):
    return text.replace("|", "\\|")


TASK = TagTask()


@exit_on_input_error
def main(argv=None):
    config, result = train_from_command_line(
        TASK, argv, SMOKE, "Tag every word of a sequence with a (bidirectional) recurrent network.")
    if result is None:
        return
    exported = export_run(result["run_dir"], config.export_dir or None, config.model_name)
    print()
    for column in (key.split("/", 1)[1] for key in result if key.startswith("test_scores/")):
        scores = result[f"test_scores/{column}"]
        baselines = ", ".join(f"{name} {result['baselines'][name][column]['macro_f1']:.4f}"
                              for name in ("majority", "word_identity"))
        entity = f", entity F1 {scores['entity_f1']:.4f}" if "entity_f1" in scores else ""
        print(f"test {column}: macro-F1 {scores['macro_f1']:.4f}, micro-F1 {scores['micro_f1']:.4f}{entity} "
              f"(baselines' macro-F1: {baselines})")
        print("  F1 " + ", ".join(f"{label} {value:.3f}" for label, value in scores["f1"].items()))
    print_paths(TASK, result, exported)


if __name__ == "__main__":
    main()
