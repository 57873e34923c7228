"""`train_and_evaluate(config, run_dir)`: the training job every language-model recipe runs.

Reads top to bottom: data (every input checked before anything is written), the run
folder, model and trainer, restore, the TBPTT loop with validation, checkpoints and
TensorBoard summaries, and a closing sample. A run folder holds `config.json`,
`vocabulary.json`, `checkpoints/` and the TensorBoard events; resuming rebuilds
everything from it.
"""

import dataclasses
import math
import pathlib
import time
import types

import keras
import numpy as np

from zoo import gradient_flow, sampling
from zoo.checkpoints import RunCheckpoints, restore_weights
from zoo.config import load_config, save_config
from zoo.data import Vocabulary, cut_into_streams, load_corpus, split_corpus, tbptt_windows
from zoo.errors import InputError
from zoo.evaluation import copy_weights, mean_loss
from zoo.model import build_language_model, zero_state
from zoo.summaries import RunSummaries
from zoo.tbptt import TBPTTTrainer

CONFIG_FILE = "config.json"
VOCABULARY_FILE = "vocabulary.json"
LN2 = math.log(2.0)


class TrainingDiverged(RuntimeError):
    """Too many consecutive updates with a non-finite loss or gradient."""


@dataclasses.dataclass(frozen=True)
class PreparedData:
    vocabulary: Vocabulary
    train_streams: np.ndarray  # [batch_size, stream_length] int32
    valid_streams: np.ndarray  # [rows, stream_length] int32
    source: str


def prepare_data(config, expected_vocabulary=None):
    """Load, split, encode and cut the corpus into streams; InputError on any bad input.

    `expected_vocabulary` (a run being resumed) must equal the corpus' vocabulary, or the
    saved weights would be read against the wrong characters.
    """
    source = config.data or "default"
    text = load_corpus(config.data)
    if not text:
        raise InputError(f"--data {source!r}: the corpus is empty")
    train_text, valid_text = split_corpus(text, config.validation_fraction)
    vocabulary = Vocabulary.from_text(train_text, f"--data {source!r}")
    if expected_vocabulary is not None and vocabulary != expected_vocabulary:
        raise InputError(f"--data {source!r}: its vocabulary differs from the one the run "
                         "was trained with; resume with the run's own corpus")
    needed = config.batch_size * (config.k2 + 1)
    if len(train_text) < needed:
        raise InputError(
            f"--data {source!r}: the training split has {len(train_text)} characters, fewer "
            f"than one batch of windows needs (--batch-size x (--k2 + 1) = {needed})")
    train_streams = cut_into_streams(vocabulary.encode(train_text), config.batch_size)
    # Validation uses as many rows as its text fills with at least one k1 window.
    rows = min(config.batch_size, len(valid_text) // (config.k1 + 1))
    if rows < 1:
        raise InputError(
            f"--data {source!r}: the validation split has {len(valid_text)} characters, "
            f"fewer than one window needs (--k1 + 1 = {config.k1 + 1}); "
            "use a longer corpus or a larger --validation-fraction")
    valid_streams = cut_into_streams(vocabulary.encode(valid_text), rows)
    return PreparedData(vocabulary, train_streams, valid_streams, source)


def new_run_dir(config):
    """A fresh folder under config.logdir named after the time and the model."""
    logdir = pathlib.Path(config.logdir)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{config.cell}-{config.layers}x{config.units}"
    run_dir, suffix = logdir / stem, 1
    while run_dir.exists():
        suffix += 1
        run_dir = logdir / f"{stem}-{suffix}"
    return run_dir


def build_optimizer(config):
    if config.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(1, config.steps - config.warmup_steps), alpha=0.1,
            warmup_target=config.lr, warmup_steps=config.warmup_steps)
    else:
        learning_rate = config.lr
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    return keras.optimizers.Adam(learning_rate)


def load_run(run_dir, config_class):
    """(config, vocabulary) of an existing run folder; InputError if it is not one."""
    run_dir = pathlib.Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"--resume {str(run_dir)!r}: no such run folder")
    config = load_config(config_class, run_dir / CONFIG_FILE)
    vocabulary_path = run_dir / VOCABULARY_FILE
    if not vocabulary_path.exists():
        raise InputError(f"--resume {str(run_dir)!r}: no {VOCABULARY_FILE}; expected a run folder")
    return config, Vocabulary.load(vocabulary_path)


def restore_model(run_dir):
    """(config, vocabulary, inference model) with the newest checkpoint's weights, for
    sampling and export. The config is read as a plain namespace: only the model's
    fields matter."""
    config, vocabulary = load_run(run_dir, types.SimpleNamespace)
    model = model_for(config, vocabulary)
    if not restore_weights(pathlib.Path(run_dir), model):
        raise InputError(f"{run_dir}: the run has no checkpoint yet")
    inference = model_for(config, vocabulary, dropout=0.0)
    copy_weights(model, inference)
    return config, vocabulary, inference


def model_for(config, vocabulary, dropout=None):
    """The run's model; `dropout=0.0` gives its inference twin."""
    return build_language_model(vocabulary.size, config.cell, config.units, config.layers,
                                config.embedding_dim,
                                config.dropout if dropout is None else dropout, config.seed)


def train_and_evaluate(config, run_dir=None, resume_vocabulary=None, show_progress=True,
                       stop_requested=lambda step: False):
    """Train `config` into `run_dir` (a new folder under config.logdir when None).

    Resuming: pass the existing run folder and its vocabulary; training continues from
    the newest checkpoint. `stop_requested(step)`, asked after every update, ends the
    session early as an interruption would: a checkpoint is written and the run can be
    resumed. Returns a dict with the final validation metrics (none when stopped early),
    the sample, the run's paths and `stopped` (True when stopped early).
    """
    data = prepare_data(config, resume_vocabulary)
    keras.utils.set_random_seed(config.seed)
    resuming = resume_vocabulary is not None
    if resuming:
        run_dir = pathlib.Path(run_dir)
    else:
        run_dir = pathlib.Path(run_dir) if run_dir else new_run_dir(config)
        run_dir.mkdir(parents=True, exist_ok=False)
        save_config(config, run_dir / CONFIG_FILE)
        data.vocabulary.save(run_dir / VOCABULARY_FILE)

    model = model_for(config, data.vocabulary)
    inference = model_for(config, data.vocabulary, dropout=0.0)
    optimizer = build_optimizer(config)
    trainer = TBPTTTrainer(model, optimizer, config.batch_size, config.k1, config.k2,
                           config.clip_norm, config.clip_value, config.jit_compile)
    checkpoints = RunCheckpoints(run_dir, model, optimizer, trainer.carried_state)
    restored = checkpoints.restore_latest() if resuming else None
    summaries = RunSummaries(run_dir, config, start_step=int(checkpoints.step))
    summaries.hparams()
    print(f"run folder: {run_dir}" + (f" (resumed from {restored})" if restored else ""))
    print(f"corpus: {data.source}, {data.train_streams.size} training characters in "
          f"{config.batch_size} streams, vocabulary of {data.vocabulary.size}")

    def validate(step):
        copy_weights(model, inference)
        windows = tbptt_windows(data.valid_streams, config.k1, config.k1)
        loss = mean_loss(inference, windows, data.valid_streams.shape[0])
        metrics = {"valid/loss": loss, "valid/bits_per_char": loss / LN2,
                   "valid/perplexity": math.exp(loss)}
        summaries.scalars(step, metrics)
        sample = sampling.generate(inference, data.vocabulary, config.sample_prompt,
                                   config.sample_length, config.sample_temperature,
                                   seed=config.seed)
        summaries.text(step, "samples/text", "```\n" + sample + "\n```")
        inputs, targets = next(iter(tbptt_windows(data.valid_streams, config.k2, config.k2)))
        norms = gradient_flow.gradient_norms_through_time(
            inference, inputs, targets, zero_state(inference, inputs.shape[0]))
        summaries.scalars(step, {"gradient_flow/first_to_last_ratio": norms[0] / norms[-1]})
        summaries.png(step, "gradient_flow/plot", gradient_flow.plot_png(
            norms, f"{config.cell}, step {step}"))
        print(f"\nstep {step}: valid loss {loss:.4f}, bits per char {loss / LN2:.4f}, "
              f"perplexity {math.exp(loss):.2f}")
        return metrics, sample

    progress = keras.utils.Progbar(config.steps, verbose=1 if show_progress else 0,
                                   stateful_metrics=["loss", "bpc", "chars/s"])
    chars_per_step = config.batch_size * config.k1
    bad_steps, metrics, sample = 0, {}, ""
    step = int(checkpoints.step)
    while step < config.steps:
        if int(checkpoints.window) == 0:
            trainer.reset_state()  # every epoch starts from zero state
        for inputs, targets in tbptt_windows(data.train_streams, config.k1, config.k2,
                                             int(checkpoints.window)):
            started = time.perf_counter()
            result = trainer.train_step(inputs, targets)
            loss = float(result["loss"])
            seconds = time.perf_counter() - started
            step += 1
            checkpoints.step.assign(step)
            checkpoints.window.assign_add(1)
            if not result["finite"]:
                bad_steps += 1
                print(f"\nstep {step}: non-finite loss or gradient; update skipped")
                summaries.scalars(step, {"train/skipped_update": 1.0})
                if bad_steps >= config.max_bad_steps:
                    raise TrainingDiverged(
                        f"step {step}: {bad_steps} consecutive non-finite updates; the last "
                        f"checkpoint ({checkpoints.manager.latest_checkpoint}) is from before "
                        "the fault. Likely causes: learning rate too high (--lr), gradient "
                        "clipping off (--clip-norm)")
                continue
            bad_steps = 0
            checkpoints.clipped_steps.assign_add(int(result["clipped"]))
            summaries.scalars(step, {
                "train/loss": loss, "train/bits_per_char": loss / LN2,
                "train/learning_rate": float(optimizer.learning_rate),
                "train/grad_norm": float(result["grad_norm"]),
                "train/clipped_share": int(checkpoints.clipped_steps) / step,
                "train/chars_per_second": chars_per_step / seconds})
            progress.update(step, [("loss", loss), ("bpc", loss / LN2),
                                   ("chars/s", chars_per_step / seconds)])
            if step % config.histogram_every == 0:
                summaries.histograms(step, model.trainable_variables, result["grads"])
            if step % config.validate_every == 0 or step == config.steps:
                metrics, sample = validate(step)
            if step % config.checkpoint_every == 0 or step == config.steps:
                checkpoints.save()
            if step >= config.steps:
                break
            if stop_requested(step):
                checkpoints.save()
                summaries.flush()
                return {"stopped": True, "run_dir": run_dir, "steps": step,
                        "checkpoints": pathlib.Path(checkpoints.folder)}
        else:  # the epoch is done (prepare_data guarantees it at least one window)
            checkpoints.window.assign(0)
    if not metrics:  # resumed a run that had already finished
        metrics, sample = validate(step)
    summaries.flush()
    return {**metrics, "sample": sample, "run_dir": run_dir, "stopped": False,
            "checkpoints": pathlib.Path(checkpoints.folder), "steps": step}
