"""Character-level language model trained with stateful TBPTT(k1, k2).

    python -m recipes.char_lm                      # default corpus and model, 5 to 10 min on 2 cores
    python -m recipes.char_lm --smoke              # a tiny configuration, seconds
    python -m recipes.char_lm --data notes.txt --cell gru --k1 50 --k2 100
    python -m recipes.char_lm --resume runs/RUN    # continue a run from its newest checkpoint
    python -m zoo.sample --from runs/RUN --prompt "The "   # sample from a trained run

Every run gets a folder under --logdir with config.json, vocabulary.json, checkpoints/
and TensorBoard events: `tensorboard --logdir runs`.
"""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from export.language_model import LanguageModelServer, portable_forms
from export.saved_model import export_run
from zoo.cells import CELLS
from zoo.data import CharacterVocabulary, cut_into_streams, load_corpus, split_corpus, tbptt_windows
from zoo.decoding.language_model import TextSampler
from zoo.evaluation.gradient_flow import gradient_norms_through_time, plot_png, recurrent_cells
from zoo.evaluation.stream_loss import StreamLoss
from zoo.layers.stack import zero_state
from zoo.models.language_model import build_language_model
from zoo.run.cli import print_paths, train_from_command_line
from zoo.run.config import TrainingConfig, exit_on_input_error, setting
from zoo.run.errors import InputError
from zoo.run.task import Evaluation, Task
from zoo.training.tbptt import TBPTTRule

VOCABULARY_FILE = "vocabulary.json"
LN2 = math.log(2.0)


@dataclasses.dataclass(frozen=True)
class CharLMConfig(TrainingConfig):
    data: str = setting("default", "corpus: a text file, folder, glob or tfds:NAME; 'default' is "
                        "the Python documentation shipped with every CPython, so it needs no network")
    validation_fraction: float = setting(0.05, "last share of the corpus held out for validation; "
                                         "5% of the default corpus is ~23k characters, enough "
                                         "for a stable bits-per-char estimate", above=0.0, below=0.5)
    cell: str = setting("lstm", "recurrent cell; on text the LSTM learns the longest dependencies of the "
                        "zoo's cells", choices=tuple(CELLS))
    units: int = setting(256, "hidden size; 256 trains the default run within minutes on 2 cores",
                         minimum=1, maximum=8192)
    layers: int = setting(2, "stacked recurrent layers; two beat one at equal time on text",
                          minimum=1, maximum=16)
    embedding_dim: int = setting(64, "character embedding size; ~100 characters need few dimensions",
                                 minimum=1, maximum=4096)
    embedding_stddev: float = setting(
        1.0, "the embedding starts N(0, stddev^2), PyTorch's default. With Keras' U(-0.05, "
        "0.05) the second layer's outputs and the logits started at std 0.003 (N(0, 1): 0.07, "
        "0.08), runs sat near the unigram entropy (2.31-2.50 bits/char at step 250, seeds 0-3; "
        "N(0, 1): 1.86-1.89); with N(0, 1) they end at 1.53-1.56", above=0.0)
    dropout: float = setting(0.1, "variational dropout on each layer's input and before the "
                             "output; light, as a short run barely overfits", minimum=0.0, below=1.0)
    batch_size: int = setting(64, "parallel streams; 64 keeps the matmuls large enough to run near "
                              "the CPU's peak", minimum=1, maximum=65536)
    k1: int = setting(100, "TBPTT: steps between updates (and steps scored per window)",
                      minimum=1, maximum=100000)
    k2: int = setting(100, "TBPTT: steps backpropagated per update (k2 >= k1; k2 == k1 is "
                      "ordinary stateful training, the cheapest per character)",
                      minimum=1, maximum=100000)
    steps: int = setting(800, "parameter updates; 800 x 64 x 100 = 5.1M characters, about 12 "
                         "epochs of the default corpus, in 5 to 10 minutes on 2 cores", minimum=1)
    validate_every: int = setting(250, "steps between validations (and samples, gradient-flow "
                                  "plots)", minimum=1)
    sample_prompt: str = setting("The ", "prompt of the samples shown at validation and at the end")
    sample_length: int = setting(300, "characters sampled after the prompt", minimum=0,
                                 maximum=100000)
    sample_temperature: float = setting(0.8, "sampling temperature; below 1 favours likely "
                                        "characters (0: greedy)", minimum=0.0)
    model_name: str = setting("char_lm", "TF Serving model name (the export's subfolder)")

    def __post_init__(self):
        super().__post_init__()
        if self.k2 < self.k1:
            raise InputError(f"--k2 must be >= --k1, received k1={self.k1}, k2={self.k2}")
        if self.cell == "reservoir" and self.dropout:
            raise InputError("--cell reservoir takes no dropout (its weights are fixed): add "
                             "--dropout 0")
        if not self.sample_prompt:
            raise InputError("--sample-prompt must hold at least one character")


# `--smoke`: the same job at a size that runs in seconds, for a first look and for tests.
SMOKE = dict(units=32, layers=1, embedding_dim=16, batch_size=8, k1=20, k2=30, steps=40,
             warmup_steps=5, validate_every=20, checkpoint_every=10, histogram_every=10,
             sample_length=60)


@dataclasses.dataclass(frozen=True)
class CorpusStreams:
    assets: CharacterVocabulary
    train_streams: np.ndarray  # [batch_size, stream_length] int32
    valid_streams: np.ndarray  # [rows, stream_length] int32
    source: str


class CharLMTask(Task):
    name = "char_lm"
    module = __spec__.name  # "recipes.char_lm" also when run as __main__ (python -m)
    config_class = CharLMConfig
    hparams = ("cell", "units", "layers", "embedding_dim", "embedding_stddev", "batch_size", "k1",
               "k2", "lr", "optimizer", "clip_norm", "dropout", "seed")
    fused_passes_only = True  # every cell of CELLS has a fused pass; TBPTT runs them over the streams

    def prepare(self, config, saved_assets=None):
        """Load, split, encode and cut the corpus into streams; InputError on any bad input.

        `saved_assets` (the vocabulary of a run being resumed) must equal the corpus'
        vocabulary, or the saved weights would be read against the wrong characters.
        """
        source = config.data or "default"
        text = load_corpus(config.data)
        if not text:
            raise InputError(f"--data {source!r}: the corpus is empty")
        train_text, valid_text = split_corpus(text, config.validation_fraction)
        vocabulary = CharacterVocabulary.from_text(train_text, f"--data {source!r}")
        if saved_assets is not None and vocabulary != saved_assets:
            raise InputError(f"--data {source!r}: its vocabulary differs from the one the run "
                             "was trained with; resume with the run's own corpus")
        needed = config.batch_size * (config.k2 + 1)
        if len(train_text) < needed:
            raise InputError(
                f"--data {source!r}: the training split has {len(train_text)} characters, fewer "
                f"than one batch of windows needs (--batch-size x (--k2 + 1) = {needed})")
        # Validation uses as many rows as its text fills with at least one k1 window.
        rows = min(config.batch_size, len(valid_text) // (config.k1 + 1))
        if rows < 1:
            raise InputError(
                f"--data {source!r}: the validation split has {len(valid_text)} characters, "
                f"fewer than one window needs (--k1 + 1 = {config.k1 + 1}); "
                "use a longer corpus or a larger --validation-fraction")
        return CorpusStreams(vocabulary, cut_into_streams(vocabulary.encode(train_text), config.batch_size),
                             cut_into_streams(vocabulary.encode(valid_text), rows), source)

    def save_assets(self, vocabulary, folder):
        vocabulary.save(folder / VOCABULARY_FILE)

    def load_assets(self, folder):
        path = folder / VOCABULARY_FILE
        if not path.exists():
            raise InputError(f"{folder}: no {VOCABULARY_FILE}; expected a char_lm run folder")
        return CharacterVocabulary.load(path)

    def run_name(self, config):
        return f"{config.cell}-{config.layers}x{config.units}"

    def describe(self, config, data):
        return (f"corpus: {data.source}, {data.train_streams.size} training characters in "
                f"{config.batch_size} streams, vocabulary of {data.assets.size}")

    def build_model(self, config, vocabulary, inference=False):
        return build_language_model(
            vocabulary.size, config.cell, config.units, config.layers, config.embedding_dim,
            0.0 if inference else config.dropout, config.seed,
            embedding_initializer=keras.initializers.RandomNormal(stddev=config.embedding_stddev),
            name="char_lm")

    def update_rule(self, config, model, optimizer, data):
        return TBPTTRule(model, optimizer, config.batch_size, config.k1, config.k2,
                            config.clip_norm, config.clip_value, config.jit_compile,
                            streams=data.train_streams, flow_penalty=config.flow_penalty)

    def train_scalars(self, loss):
        return {"train/bits_per_char": loss / LN2}

    def evaluator(self, config, model, data):
        stream_loss, sampler = StreamLoss(model), TextSampler(model, data.assets)
        embedding, output = model.get_layer("embedding"), model.get_layer("logits")
        rows = data.valid_streams.shape[0]

        def evaluate(step):
            loss = stream_loss(tbptt_windows(data.valid_streams, config.k1, config.k1), rows)
            sample = sampler(config.sample_prompt, config.sample_length, config.sample_temperature,
                             seed=config.seed)
            inputs, targets = next(iter(tbptt_windows(data.valid_streams, config.k2, config.k2)))
            norms = gradient_norms_through_time(
                recurrent_cells(model), embedding(inputs), zero_state(model, rows),
                lambda h: tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=targets[:, -1], logits=output(h))))
            return Evaluation(
                metrics={"valid/loss": loss, "valid/bits_per_char": loss / LN2,
                         "valid/perplexity": math.exp(loss),
                         "gradient_flow/first_to_last_ratio": norms[0] / norms[-1]},
                summary=(f"valid loss {loss:.4f}, bits per char {loss / LN2:.4f}, "
                         f"perplexity {math.exp(loss):.2f}"),
                texts={"samples/text": "```\n" + sample + "\n```"},
                images={"gradient_flow/plot": plot_png(norms, f"{config.cell}, step {step}")},
                outputs={"sample": sample})

        return evaluate

    def generator(self, model, vocabulary):
        """`generate(prompt, length, temperature, top_k, top_p, seed)` -> text."""
        return TextSampler(model, vocabulary)

    def serving(self, model, vocabulary, folder, budget=0):
        return LanguageModelServer(model, vocabulary, folder, budget)

    def portable_signatures(self, model, vocabulary):
        return portable_forms(model, vocabulary)


TASK = CharLMTask()


@exit_on_input_error
def main(argv=None):
    config, result = train_from_command_line(
        TASK, argv, SMOKE, "Train a character language model with stateful TBPTT.")
    if result is None:
        return
    exported = export_run(result["run_dir"], config.export_dir or None, config.model_name)
    print(f"\nvalidation: {result['valid/bits_per_char']:.3f} bits per character, "
          f"perplexity {result['valid/perplexity']:.2f} after {result['steps']} steps")
    print(f"sample:\n{result['sample']}\n")
    print_paths(TASK, result, exported)
    print(f"sample more: python -m zoo.sample --from {result['run_dir']}")


if __name__ == "__main__":
    main()
