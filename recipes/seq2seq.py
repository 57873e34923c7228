"""Encoder-decoder with attention, teacher forcing and beam search; by default it learns to
write dates of 48 locales (CLDR, through babel) as ISO 8601.

    python -m recipes.seq2seq                               # dates -> ISO 8601, < 10 min on 2 cores
    python -m recipes.seq2seq --smoke                       # a tiny configuration, seconds
    python -m recipes.seq2seq --locales fr_FR,ar_EG,ja_JP   # dates of some locales only
    python -m recipes.seq2seq --data fra.txt --tokens word  # source<TAB>target per line
    python -m recipes.seq2seq --resume runs/RUN             # continue a run from its newest checkpoint

Held-out validation pairs are decoded greedily and by beam search at every validation
(exact match, character error rate; BLEU and chrF for --data runs), the test pairs once,
at the end. The run exports `translate`, `encode` and `decode_step` for TensorFlow Serving.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from export.saved_model import export_run
from export.seq2seq import TranslatorServer, portable_forms
from zoo.cells import CELLS
from zoo.data.dates import LOCALES, check_locales, date_splits, locale_of, script_of
from zoo.data.text_pairs import read_pairs, split_pairs
from zoo.data.tokens import (
    END,
    PAD,
    PAD_UNKNOWN_START_END,
    SPECIAL_TOKENS,
    START,
    TOKENS,
    decode,
    encode,
    learn_vocabulary,
    token_counts,
)
from zoo.evaluation.batched import row_chunks
from zoo.evaluation.translation import attention_png, character_error_rate, corpus_scores, exact_match, samples_table
from zoo.models.encoder_decoder import ATTENTIONS, EncoderDecoder
from zoo.run.cli import print_paths, train_from_command_line
from zoo.run.config import TrainingConfig, exit_on_input_error, setting
from zoo.run.errors import InputError
from zoo.run.task import Evaluation, Task
from zoo.training.minibatch import MinibatchRule
from zoo.training.scheduled_sampling import gold_probability, scheduled_logits

ASSETS_FILE = "vocabularies.json"
DATES = "dates"
SHOWN_SAMPLES, SHOWN_ALIGNMENTS = 12, 3


@dataclasses.dataclass(frozen=True)
class Seq2SeqConfig(TrainingConfig):
    data: str = setting(DATES, "'dates': generated date pairs; else a file, folder or glob of "
                        "source<TAB>target lines")
    locales: str = setting("all", "dates: comma-separated CLDR locales, or 'all' (48)")
    tokens: str = setting("char", "--data: characters or whitespace-separated words as tokens",
                          choices=TOKENS)
    max_vocabulary: int = setting(20000, "--data: ids per side, the 4 special ones counted",
                                  minimum=5)
    max_source_length: int = setting(200, "longest source, in tokens; longer lines are refused",
                                     minimum=1, maximum=4096)
    max_length: int = setting(20, "longest target with its end token, in tokens: the decode "
                              "limit; longer lines are refused", minimum=2, maximum=512)
    held_out_share: float = setting(0.05, "--data: share of the pairs each for validation and "
                                    "test", above=0.0, below=0.34)
    train_pairs: int = setting(50000, "dates: generated training pairs", minimum=1, maximum=1_000_000)
    valid_pairs: int = setting(500, "dates: validation pairs (held-out days)", minimum=1, maximum=100_000)
    test_pairs: int = setting(2000, "dates: test pairs (held-out days)", minimum=1, maximum=100_000)
    cell: str = setting("gru", "recurrent cell of encoder and decoder", choices=tuple(CELLS))
    units: int = setting(128, "hidden size", minimum=1, maximum=8192)
    layers: int = setting(1, "stacked layers of encoder and decoder", minimum=1, maximum=8)
    bidirectional: bool = setting(True, "the encoder reads both ways")
    attention: str = setting("additive", "attention over the encoder outputs", choices=ATTENTIONS)
    embedding_dim: int = setting(64, "token embedding size", minimum=1, maximum=4096)
    dropout: float = setting(0.1, "variational dropout", minimum=0.0, below=1.0)
    sampling_k: float = setting(0.0, "scheduled sampling: gold tokens fed with probability "
                                "k / (k + exp(step / k)) (Bengio et al. 2015); 0: teacher forcing",
                                minimum=0.0)
    beam_width: int = setting(5, "beam width of the beam decode", minimum=1, maximum=64)
    alpha: float = setting(0.6, "GNMT length normalisation ((5 + |Y|) / 6)^alpha", minimum=0.0)
    steps: int = setting(2000, "parameter updates", minimum=1)
    validate_every: int = setting(500, "steps between validations", minimum=1)
    warmup_steps: int = setting(50, "linear warm-up steps", minimum=0)
    model_name: str = setting("seq2seq", "TF Serving model name")

    def __post_init__(self):
        super().__post_init__()
        if self.sampling_k and self.sampling_k < 1:
            raise InputError(f"--sampling-k {self.sampling_k}: expected 0 (off) or at least 1")


SMOKE = dict(units=16, train_pairs=256, valid_pairs=32, test_pairs=32, steps=6, batch_size=16, warmup_steps=2,
             validate_every=6, checkpoint_every=3, histogram_every=3, beam_width=2)


@dataclasses.dataclass
class Pairs:
    """One split as model inputs, with its texts."""
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
    """`Pairs` of (source, target) strings; targets end with the end id, and the decoder reads
    them shifted right behind the start id."""
    source, source_lengths = encode([s for s, _ in pairs], assets["source"], assets["tokens"], PAD_UNKNOWN_START_END)
    target_out, _ = encode([t for _, t in pairs], assets["target"], assets["tokens"], PAD_UNKNOWN_START_END, end=True)
    target_in = np.concatenate([np.full((len(pairs), 1), START, np.int32), target_out[:, :-1]], axis=1)
    return Pairs(source, source_lengths, target_in, target_out, pairs)


def locales_of(config):
    if config.locales == "all":
        return LOCALES
    locales = tuple(name.strip() for name in config.locales.split(",") if name.strip())
    if not locales:
        raise InputError(f"--locales {config.locales!r}: expected 'all' or CLDR locales separated by commas")
    check_locales(locales)
    return locales


def read_splits(config):
    """(train, valid, test) pairs of the config's data; InputError on bad input."""
    if config.data == DATES:
        if config.tokens != "char":
            raise InputError("--tokens word: the generated dates are read as characters; expected "
                             "--tokens char, or --data PAIRS")
        splits = date_splits(config.seed, config.train_pairs, config.valid_pairs, config.test_pairs,
                             locales=locales_of(config))
        return splits.train, splits.valid, splits.test
    if config.locales != "all":
        raise InputError(f"--locales {config.locales}: picks the generated dates' locales; expected "
                         "no --locales with --data")
    pairs = read_pairs(config.data, config.tokens, config.max_source_length, config.max_length - 1)
    splits = split_pairs(pairs, config.held_out_share, config.seed, config.data)
    return splits.train, splits.valid, splits.test


class Seq2SeqTask(Task):
    name = "seq2seq"
    module = __spec__.name
    assets_file = ASSETS_FILE
    config_class = Seq2SeqConfig
    hparams = ("data", "tokens", "cell", "units", "layers", "bidirectional", "attention", "dropout",
               "sampling_k", "batch_size", "steps", "lr", "seed")

    def prepare(self, config, saved_assets=None):
        train, valid, test = read_splits(config)
        if config.batch_size > len(train):
            raise InputError(f"{config.data}: {len(train)} training pairs, fewer than one batch "
                             f"(--batch-size {config.batch_size})")
        longest = int(token_counts([t for _, t in train + valid + test], config.tokens).max())
        if longest + 1 > config.max_length:
            raise InputError(f"--max-length {config.max_length}: the targets of {config.data} need up to "
                             f"{longest + 1} tokens with the end token")
        assets = saved_assets or {
            "data": config.data, "tokens": config.tokens, "max_source_length": config.max_source_length,
            "alpha": config.alpha,
            "source": learn_vocabulary([s for s, _ in train], config.tokens, config.max_vocabulary,
                                       PAD_UNKNOWN_START_END),
            "target": learn_vocabulary([t for _, t in train], config.tokens, config.max_vocabulary,
                                       PAD_UNKNOWN_START_END)}
        return Seq2SeqData(assets, pairs_of(train, assets), pairs_of(valid, assets), pairs_of(test, assets))

    def run_name(self, config):
        directions = "bi" if config.bidirectional else ""
        return f"{directions}{config.cell}-{config.layers}x{config.units}-{config.attention}"

    def describe(self, config, data):
        sizes = [len(data.assets[side]) + len(SPECIAL_TOKENS) for side in ("source", "target")]
        return (f"data: {config.data} ({config.tokens} tokens); {len(data.train.texts)} training, "
                f"{len(data.valid.texts)} validation, {len(data.test.texts)} test pairs; vocabularies "
                f"{sizes[0]} / {sizes[1]}")

    def build_model(self, config, assets, inference=False):
        special = len(SPECIAL_TOKENS)
        model = EncoderDecoder(len(assets["source"]) + special, len(assets["target"]) + special, config.cell,
                               config.units, config.layers, config.bidirectional, config.attention,
                               config.embedding_dim, 0.0 if inference else config.dropout, config.seed,
                               name="seq2seq")
        model([np.zeros((1, 2), np.int32), np.ones(1, np.int32), np.zeros((1, 2), np.int32)])
        return model

    def update_rule(self, config, model, optimizer, data):
        def loss(model, batch, training):
            source, lengths, target_in, target_out = batch
            if config.sampling_k:
                update = optimizer.iterations
                logits = scheduled_logits(model, source, lengths, target_in,
                                          gold_probability(update, config.sampling_k),
                                          tf.stack([tf.constant(config.seed, tf.int64), tf.cast(update, tf.int64)]),
                                          training)
            else:
                logits = model([source, lengths, target_in], training=training)
            # Weighted by tokens, so that replicas of a distributed run weigh their means by
            # their share of the batch's tokens (`zoo.training.minibatch`).
            return masked_cross_entropy(target_out, logits), tf.reduce_sum(tf.cast(target_out != PAD, tf.float32))

        train = data.train
        return MinibatchRule(model, optimizer, loss, (train.source, train.source_lengths, train.target_in,
                                                         train.target_out), config.batch_size, config.seed,
                                config.clip_norm, config.clip_value, config.jit_compile, config.flow_penalty)

    def evaluator(self, config, model, data):
        return TranslationEvaluator(config, model, data).evaluate

    def serving(self, model, assets, folder, budget=0):
        return TranslatorServer(model, assets, folder, budget)

    def portable_signatures(self, model, assets):
        return portable_forms(model, assets)


def masked_cross_entropy(target_out, logits):
    """Mean cross-entropy over the target tokens that are not padding."""
    weights = tf.cast(target_out != PAD, tf.float32)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(target_out, logits)
    return tf.reduce_sum(losses * weights) / tf.reduce_sum(weights)


class TranslationEvaluator:
    """Validation (and, at the last step, test) scores of the module docstring."""

    def __init__(self, config, model, data):
        self.config, self.model, self.data = config, model, data
        # Shapes left open: the splits and their last batches share one trace each.
        ids, lengths = tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)
        self.forced = tf.function(lambda s, n, t: model.teacher_forced(s, n, t, training=False),
                                  input_signature=[ids, lengths, ids])
        self.greedy = tf.function(lambda s, n: model.translate(s, n, START, END, config.max_length, 0),
                                  input_signature=[ids, lengths])
        self.beam = tf.function(lambda s, n: model.translate(s, n, START, END, config.max_length, config.beam_width,
                                                             config.alpha), input_signature=[ids, lengths])

    def decoded(self, pairs, search):
        assets, texts = self.data.assets, []
        for source, source_lengths in row_chunks(pairs.source, pairs.source_lengths):
            ids, _, lengths = search(source, source_lengths)
            texts += decode(ids.numpy(), lengths.numpy(), assets["target"], assets["tokens"])
        return texts

    def forced_scores(self, pairs):
        """(loss, token accuracy) with the gold previous tokens."""
        loss_sum = hits = count = 0.0
        for source, source_lengths, target_in, gold in row_chunks(pairs.source, pairs.source_lengths, pairs.target_in,
                                                                  pairs.target_out):
            logits, _ = self.forced(source, source_lengths, target_in)
            weights = gold != PAD
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(gold, logits).numpy()
            loss_sum += float((losses * weights).sum())
            hits += float(((logits.numpy().argmax(-1) == gold) & weights).sum())
            count += float(weights.sum())
        return loss_sum / count, hits / count

    def scores(self, name, pairs):
        """(scalars, {decode name: texts}) of one split."""
        references = [target for _, target in pairs.texts]
        decodes = {"greedy": self.decoded(pairs, self.greedy), "beam": self.decoded(pairs, self.beam)}
        metrics = {}
        for kind, texts in decodes.items():
            metrics[f"{name}/{kind}_exact_match"] = exact_match(texts, references)
            metrics[f"{name}/{kind}_cer"] = character_error_rate(texts, references)
        if self.config.data != DATES:
            for metric, value in corpus_scores(decodes["beam"], references).items():
                metrics[f"{name}/beam_{metric}"] = value
        return metrics, decodes

    def alignments(self, pairs, decodes):
        """(weights, source tokens, output tokens) of the first validation pairs' greedy decodes."""
        assets, shown = self.data.assets, []
        for k in range(min(SHOWN_ALIGNMENTS, len(pairs.texts))):
            output_ids, _ = encode([decodes[k]], assets["target"], assets["tokens"], PAD_UNKNOWN_START_END, end=True)
            target_in = np.concatenate([[[START]], output_ids[:, :-1]], axis=1).astype(np.int32)
            _, weights = self.forced(pairs.source[k:k + 1], pairs.source_lengths[k:k + 1], target_in)
            names = lambda ids, vocabulary: [(list(SPECIAL_TOKENS) + vocabulary)[i] for i in ids]
            source_tokens = names(pairs.source[k, :pairs.source_lengths[k]], assets["source"])
            output_tokens = names(output_ids[0, :-1], assets["target"]) + ["</s>"]
            shown.append((weights.numpy()[0][:, :len(source_tokens)], source_tokens, output_tokens))
        return shown

    def evaluate(self, step):
        valid = self.data.valid
        loss, token_accuracy = self.forced_scores(valid)
        metrics, decodes = self.scores("valid", valid)
        metrics.update({"valid/loss": loss, "valid/token_accuracy": token_accuracy})
        texts = {"valid/samples": samples_table([s for s, _ in valid.texts[:SHOWN_SAMPLES]],
                                                [t for _, t in valid.texts[:SHOWN_SAMPLES]],
                                                {k: v[:SHOWN_SAMPLES] for k, v in decodes.items()})}
        images = {}
        if self.model.attention is not None:
            images["valid/attention"] = attention_png(self.alignments(valid, decodes["greedy"]),
                                                      f"greedy decodes, step {step}")
        summary = (f"valid loss {loss:.4f}, token accuracy {token_accuracy:.4f}, exact match greedy "
                   f"{metrics['valid/greedy_exact_match']:.4f} beam {metrics['valid/beam_exact_match']:.4f}")
        if step >= self.config.steps:
            test_metrics, test_decodes = self.scores("test", self.data.test)
            metrics.update(test_metrics)
            if self.config.data == DATES:
                metrics.update(script_scores(self.data.test.texts, test_decodes["beam"]))
            summary += (f"; test exact match greedy {metrics['test/greedy_exact_match']:.4f} beam "
                        f"{metrics['test/beam_exact_match']:.4f}")
        return Evaluation(metrics, summary, texts=texts, images=images)


def script_scores(pairs, decodes):
    """Beam exact match per script of the dates' locales: {"test_script/Latn": ..., ...}."""
    scripts = {}
    for (source, target), decoded in zip(pairs, decodes):
        scripts.setdefault(script_of(locale_of(source)), []).append(decoded == target)
    return {f"test_script/{script}": float(np.mean(hits)) for script, hits in sorted(scripts.items())}


TASK = Seq2SeqTask()


@exit_on_input_error
def main(argv=None):
    config, result = train_from_command_line(TASK, argv, SMOKE, "Train an encoder-decoder with attention.")
    if result is None:
        return
    exported = export_run(result["run_dir"], config.export_dir or None, config.model_name)
    print(f"\ntest exact match: greedy {result['test/greedy_exact_match']:.4f}, beam "
          f"{result['test/beam_exact_match']:.4f} (beam width {config.beam_width}) after {result['steps']} steps")
    print_paths(TASK, result, exported)


if __name__ == "__main__":
    main()
