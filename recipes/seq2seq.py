"""Encoder-decoder with attention, teacher forcing and beam search: date normalisation
across languages (work in progress: trains and scores; export and TensorBoard extras to come).

    python -m recipes.seq2seq                  # dates in 48 locales -> ISO 8601
    python -m recipes.seq2seq --smoke          # a tiny configuration, seconds
"""

import dataclasses
import json

import numpy as np
import tensorflow as tf

from export.saved_model import export_run
from export.seq2seq import TranslatorServer
from zoo.cells import CELLS
from zoo.cli import train_from_command_line
from zoo.config import TrainingConfig, exit_on_input_error, setting
from zoo.data.dates import date_splits
from zoo.encoder_decoder import ATTENTIONS, EncoderDecoder
from zoo.errors import InputError
from zoo.minibatch import MinibatchTrainer
from zoo.task import Evaluation, Task

VOCABULARY_FILE = "vocabularies.json"
PAD, START, END, UNKNOWN = 0, 1, 2, 3
SPECIAL = ["<pad>", "<start>", "<end>", "<unknown>"]


@dataclasses.dataclass(frozen=True)
class Seq2SeqConfig(TrainingConfig):
    cell: str = setting("gru", "recurrent cell of encoder and decoder", choices=tuple(CELLS))
    units: int = setting(128, "hidden size", minimum=1, maximum=8192)
    layers: int = setting(1, "stacked layers of encoder and decoder", minimum=1, maximum=8)
    bidirectional: bool = setting(True, "the encoder reads both ways")
    attention: str = setting("additive", "attention over the encoder outputs", choices=ATTENTIONS)
    embedding_dim: int = setting(64, "token embedding size", minimum=1, maximum=4096)
    dropout: float = setting(0.1, "variational dropout", minimum=0.0, below=1.0)
    train_pairs: int = setting(50000, "generated training pairs", minimum=1)
    valid_pairs: int = setting(500, "validation pairs (held-out days)", minimum=1)
    test_pairs: int = setting(2000, "test pairs (held-out days)", minimum=1)
    beam_width: int = setting(5, "beam width of the beam decode", minimum=1, maximum=64)
    alpha: float = setting(0.6, "GNMT length normalisation", minimum=0.0)
    max_length: int = setting(20, "longest decode (target tokens)", minimum=1, maximum=1000)
    steps: int = setting(2000, "parameter updates", minimum=1)
    validate_every: int = setting(500, "steps between validations", minimum=1)
    warmup_steps: int = setting(50, "linear warm-up steps", minimum=0)
    model_name: str = setting("seq2seq", "TF Serving model name")


SMOKE = dict(units=16, train_pairs=256, valid_pairs=32, test_pairs=32, steps=6, batch_size=16, warmup_steps=2,
             validate_every=6, checkpoint_every=3, histogram_every=3, beam_width=2)


def encode_texts(texts, vocabulary, end=False):
    """(ids [n, longest (+1)] int32, lengths [n]) of character sequences; unknown -> UNKNOWN."""
    index = {ch: i for i, ch in enumerate(vocabulary)}
    rows = [[index.get(ch, UNKNOWN) for ch in text] + ([END] if end else []) for text in texts]
    lengths = np.array([len(r) for r in rows], np.int32)
    ids = np.zeros((len(rows), lengths.max()), np.int32)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
    return ids, lengths


@dataclasses.dataclass
class Pairs:
    source: np.ndarray
    source_lengths: np.ndarray
    target_in: np.ndarray
    target_out: np.ndarray
    texts: list


@dataclasses.dataclass
class Seq2SeqData:
    assets: dict
    train: Pairs
    valid: Pairs
    test: Pairs


def pairs_of(pairs, assets):
    sources, targets = [s for s, _ in pairs], [t for _, t in pairs]
    source, source_lengths = encode_texts(sources, assets["source"])
    target_out, _ = encode_texts(targets, assets["target"], end=True)
    target_in = np.concatenate([np.full((len(pairs), 1), START, np.int32), target_out[:, :-1]], axis=1)
    return Pairs(source, source_lengths, target_in, target_out, pairs)


def detokenize(ids, lengths, vocabulary):
    """Target strings of decoded ids [n, T] whose `lengths` count the end token."""
    return ["".join(vocabulary[i] for i in row[:max(n - 1, 0)] if i >= len(SPECIAL))
            for row, n in zip(np.asarray(ids), np.asarray(lengths))]


class Seq2SeqTask(Task):
    name = "seq2seq"
    module = __spec__.name
    config_class = Seq2SeqConfig
    hparams = ("cell", "units", "layers", "bidirectional", "attention", "dropout", "batch_size", "steps", "lr",
               "seed")

    def prepare(self, config, saved_assets=None):
        splits = date_splits(config.seed, config.train_pairs, config.valid_pairs, config.test_pairs)
        assets = saved_assets or {
            "source": SPECIAL + sorted({ch for s, _ in splits.train for ch in s}),
            "target": SPECIAL + sorted({ch for _, t in splits.train for ch in t})}
        return Seq2SeqData(assets, pairs_of(splits.train, assets), pairs_of(splits.valid, assets),
                           pairs_of(splits.test, assets))

    def save_assets(self, assets, folder):
        (folder / VOCABULARY_FILE).write_text(json.dumps(assets, ensure_ascii=False) + "\n")

    def load_assets(self, folder):
        path = folder / VOCABULARY_FILE
        if not path.exists():
            raise InputError(f"{folder}: no {VOCABULARY_FILE}; expected a seq2seq run folder")
        return json.loads(path.read_text())

    def describe(self, config, data):
        return (f"{len(data.train.texts)} training pairs, vocabularies {len(data.assets['source'])} / "
                f"{len(data.assets['target'])}")

    def build_model(self, config, assets, inference=False):
        model = EncoderDecoder(len(assets["source"]), len(assets["target"]), config.cell, config.units,
                               config.layers, config.bidirectional, config.attention, config.embedding_dim,
                               0.0 if inference else config.dropout, config.seed, name="seq2seq")
        model([np.zeros((1, 2), np.int32), np.ones(1, np.int32), np.zeros((1, 2), np.int32)])
        return model

    def update_rule(self, config, model, optimizer, data):
        def loss(model, batch, training):
            source, lengths, target_in, target_out = batch
            logits = model([source, lengths, target_in], training=training)
            weights = tf.cast(target_out != PAD, tf.float32)
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(target_out, logits)
            return tf.reduce_sum(losses * weights) / tf.reduce_sum(weights)

        train = data.train
        return MinibatchTrainer(model, optimizer, loss, (train.source, train.source_lengths, train.target_in,
                                                         train.target_out), config.batch_size, config.seed,
                                config.clip_norm, config.clip_value, config.jit_compile)

    def evaluator(self, config, model, data):
        target = data.assets["target"]
        greedy = tf.function(lambda s, l: model.translate(s, l, START, END, config.max_length, 0))
        beam = tf.function(lambda s, l: model.translate(s, l, START, END, config.max_length,
                                                        config.beam_width, config.alpha))

        def exact(pairs, decode):
            hits = 0
            for start in range(0, len(pairs.texts), 256):
                ids, _, lengths = decode(pairs.source[start:start + 256], pairs.source_lengths[start:start + 256])
                hits += sum(out == gold for out, (_, gold) in zip(detokenize(ids, lengths, target), pairs.texts[start:start + 256]))
            return hits / len(pairs.texts)

        def evaluate(step):
            metrics = {"valid/greedy_exact_match": exact(data.valid, greedy),
                       "valid/beam_exact_match": exact(data.valid, beam)}
            if step >= config.steps:
                metrics["test/greedy_exact_match"] = exact(data.test, greedy)
                metrics["test/beam_exact_match"] = exact(data.test, beam)
            summary = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
            return Evaluation(metrics, summary)

        return evaluate

    def serving(self, model, assets, folder):
        return TranslatorServer(model, assets, (PAD, START, END, UNKNOWN))


TASK = Seq2SeqTask()


@exit_on_input_error
def main(argv=None):
    config, result = train_from_command_line(TASK, argv, SMOKE, "Train a date-normalising encoder-decoder.")
    if result is not None:
        print({k: v for k, v in result.items() if "exact" in k})
        print(f"export: {export_run(result['run_dir'], config.export_dir or None, config.model_name)}")


if __name__ == "__main__":
    main()
