"""`train_and_evaluate(task, config, run_dir)`: the one training loop of every recipe.

Reads top to bottom: the task's data (every input checked before anything is written),
the run folder, model, optimizer and update rule, restore, then the loop: an update,
its scalars, histograms, validation, checkpoint, and the stop checks. What differs
between recipes is the task's (`zoo.run.task`); the update rule (`zoo.training.tbptt`,
`zoo.training.minibatch`) walks the data and carries its own state, which the checkpoints hold.
"""

import pathlib
import shutil
import tempfile
import time

import keras

from zoo.fused.schedule import fused_schedule
from zoo.models.inference_twin import copy_weights
from zoo.run.errors import disk_full_error, is_disk_full
from zoo.run.folders import config_record, create_run, new_run_dir
from zoo.run.summaries import RunSummaries
from zoo.training.checkpoints import RunCheckpoints, remove_unfinished_writes
from zoo.training.distribution import agreed_stop, check_divisible, is_chief, make_strategy, worker_count, worker_losses
from zoo.training.progress import Progress
from zoo.training.update_rule import UpdateRule


class TrainingDiverged(RuntimeError):
    """Too many consecutive updates with a non-finite loss or gradient."""


def build_optimizer(config):
    """The optimizer of a `zoo.run.config.TrainingConfig`: warm-up, then cosine decay to 10%."""
    if config.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(1, config.steps - config.warmup_steps), alpha=0.1,
            warmup_target=config.lr, warmup_steps=config.warmup_steps)
    else:
        learning_rate = config.lr
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    return keras.optimizers.Adam(learning_rate)


def train_and_evaluate(task, config, run_dir=None, resume=False, show_progress=True,
                       stop_requested=lambda step: False):
    """Train `config` of `task` into `run_dir` (a new folder under config.logdir when None).

    `resume=True` continues the existing `run_dir` from its newest checkpoint.
    `stop_requested(step)`, asked after every update, ends the session early as an
    interruption would: a checkpoint is written and the run can be resumed. Returns a
    dict: the last validation's metrics and outputs (none when stopped early), `run_dir`,
    `checkpoints`, `steps` and `stopped` (True when stopped early).
    """
    if resume:
        run_dir = pathlib.Path(run_dir)
    data = task.prepare(config, task.load_assets(run_dir) if resume else None)
    strategy = make_strategy(config.strategy, config.devices)
    check_divisible(config.batch_size, strategy)
    if not is_chief(strategy):
        # Every worker runs the same program; only the chief writes the run. The others
        # write what they must (checkpoints, events) into a scratch folder they remove.
        scratch = pathlib.Path(tempfile.mkdtemp(prefix="zoo-worker-"))
        try:
            result = _train(task, config, data, strategy, create_run(scratch / "run", task, config, data.assets),
                            run_dir if resume else None, show_progress, stop_requested)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return {**result, "run_dir": None, "checkpoints": None, "chief": False}
    if not resume:
        run_dir = create_run(run_dir or new_run_dir(config.logdir, task.run_name(config)),
                             task, config, data.assets)
    return _train(task, config, data, strategy, run_dir, run_dir if resume else None, show_progress,
                  stop_requested)


def _train(task, config, data, strategy, run_dir, restore_from, show_progress, stop_requested):
    """The loop of `train_and_evaluate`, writing into `run_dir`; resumes from the newest
    checkpoint of the run folder `restore_from` (None: a new run). Every graph it traces
    takes the fused passes' `config.schedule` (`zoo.fused.schedule`)."""
    with fused_schedule(config.schedule):
        return _train_on_schedule(task, config, data, strategy, run_dir, restore_from, show_progress,
                                  stop_requested)


def _train_on_schedule(task, config, data, strategy, run_dir, restore_from, show_progress, stop_requested):
    keras.utils.set_random_seed(config.seed)
    session = TrainingSession(task, config, data, strategy, run_dir, restore_from, show_progress)
    if session.several_workers:
        stop_requested = agreed_stop(strategy)(stop_requested)
    step, evaluation = int(session.checkpoints.step), None
    while step < config.steps:
        for batch in session.rule.batches():
            step += 1
            evaluation = session.update(step, batch) or evaluation
            if step >= config.steps:
                break
            with session.collectives():
                stopping = stop_requested(step)
            if stopping:
                return session.stop(step)
    return session.finish(step, evaluation)


class TrainingSession:
    """One session of a run: its model, update rule, checkpoints and summaries, and what
    one step of the loop does with them."""

    def __init__(self, task, config, data, strategy, run_dir, restore_from, show_progress):
        self.task, self.config, self.run_dir = task, config, run_dir
        self.several_workers = worker_count(strategy) > 1
        # Under a strategy, weights and optimizer state are mirrored on every replica, and
        # the update rule runs its updates across them (`zoo.training.distribution`).
        with strategy.scope():
            self.model = task.build_model(config, data.assets)
            self.inference = task.build_model(config, data.assets, inference=True)
            self.optimizer = build_optimizer(config)
            self.rule: UpdateRule = task.update_rule(config, self.model, self.optimizer, data)
        self.checkpoints = RunCheckpoints(run_dir, self.model, self.optimizer, self.rule.checkpointed(),
                                         config_record(config))
        restored = self.checkpoints.restore_latest(restore_from) if restore_from else None
        try:
            self.summaries = RunSummaries(run_dir, start_step=int(self.checkpoints.step))
            self.summaries.hparams(task.hparams_of(config))
        except Exception as error:
            if not is_disk_full(error):
                raise
            raise disk_full_error(f"{run_dir} (its TensorBoard events)", self.resume_hint()) from None
        self.evaluate = task.evaluator(config, self.inference, data)
        print(f"run folder: {run_dir}" + (f" (resumed from {restored})" if restored else ""))
        print(task.describe(config, data))
        self.progress = Progress(config.steps, show_progress)
        self.bad_steps = 0

    def collectives(self):
        """A failed collective (a worker died or is unreachable) ends the run in one line."""
        return worker_losses(self.several_workers, lambda: (
            f"at step {int(self.checkpoints.step) + 1}; the last checkpoint is "
            f"{self.checkpoints.manager.latest_checkpoint}"))

    def update(self, step, batch):
        """Step `step`: one update on `batch`, its scalars, then validation and checkpoint
        when due. Returns the validation's Evaluation, or None when none was due."""
        started = time.perf_counter()
        with self.collectives():
            result = self.rule.train_step(*batch)
        loss = float(result["loss"])
        rate = self.rule.items_per_update / (time.perf_counter() - started)
        self.checkpoints.step.assign(step)
        if result["finite"]:
            self.log_update(step, loss, result, rate)
        else:
            self.skip_update(step)
        # A skipped update still ends its step: validation, checkpoint and stop checks run
        # as after any other.
        config, evaluation = self.config, None
        if step % config.validate_every == 0 or step == config.steps:
            evaluation = self.validate(step)
        if step % config.checkpoint_every == 0 or step == config.steps:
            self.save_checkpoint()
        return evaluation

    def save_checkpoint(self):
        """Write a checkpoint; a full disk ends the run in one line saying how to resume
        (the half-written checkpoint removed, the previous ones intact)."""
        try:
            self.checkpoints.save()
        except Exception as error:
            if not is_disk_full(error):
                raise
            remove_unfinished_writes(pathlib.Path(self.checkpoints.folder))
            last = self.checkpoints.manager.latest_checkpoint or "none yet, so a resume starts over"
            raise disk_full_error(f"{self.checkpoints.folder} (checkpoint of step {int(self.checkpoints.step)}; "
                                  f"the last complete one: {last})", self.resume_hint()) from None

    def resume_hint(self):
        return f"resume: python -m {self.task.module} --resume {self.run_dir}"

    def log_update(self, step, loss, result, rate):
        """TensorBoard scalars (and histograms when due) and progress of an applied update."""
        self.bad_steps = 0
        self.checkpoints.clipped_steps.assign_add(int(result["clipped"]))
        scalars = {"train/loss": loss, **self.task.train_scalars(loss)}
        if "flow_penalty" in result:  # Omega of a penalised update (zoo.training.flow_penalty)
            scalars["train/flow_penalty"] = float(result["flow_penalty"])
        by_gradient = {} if not self.rule.by_gradient else {
            "train/learning_rate": float(self.optimizer.learning_rate),
            "train/grad_norm": float(result["grad_norm"]),
            "train/clipped_share": int(self.checkpoints.clipped_steps) / step}
        self.summaries.scalars(step, {**scalars, **by_gradient, f"train/{self.rule.item_name}_per_second": rate})
        self.progress.update(step, [(tag.split("/")[-1], value) for tag, value in scalars.items()]
                             + [(f"{self.rule.item_name}/s", rate)])
        if step % self.config.histogram_every == 0:
            self.summaries.histograms(step, self.model.trainable_variables, result.get("grads"))

    def skip_update(self, step):
        """Report a skipped (non-finite) update; TrainingDiverged after too many in a row."""
        self.bad_steps += 1
        print(f"\nstep {step}: non-finite loss or gradient; update skipped")
        self.summaries.scalars(step, {"train/skipped_update": 1.0})
        if self.bad_steps >= self.config.max_bad_steps:
            raise TrainingDiverged(
                f"step {step}: {self.bad_steps} consecutive non-finite updates; the last "
                f"checkpoint ({self.checkpoints.manager.latest_checkpoint}) is from before "
                "the fault. Likely causes: learning rate too high (--lr), gradient "
                "clipping off (--clip-norm)")

    def validate(self, step):
        """The task's evaluation on the inference twin, into TensorBoard and the console."""
        copy_weights(self.model, self.inference)
        evaluation = self.evaluate(step)
        self.summaries.scalars(step, evaluation.metrics)
        for tag, markdown in evaluation.texts.items():
            self.summaries.text(step, tag, markdown)
        for tag, png in evaluation.images.items():
            self.summaries.png(step, tag, png)
        print(f"\nstep {step}: {evaluation.summary}")
        return evaluation

    def stop(self, step):
        """An early stop: a checkpoint to resume from."""
        self.save_checkpoint()
        self.summaries.flush()
        return {"stopped": True, "run_dir": self.run_dir, "steps": step,
                "checkpoints": pathlib.Path(self.checkpoints.folder)}

    def finish(self, step, evaluation):
        """The result of a run that reached its last step."""
        if evaluation is None:  # resumed a run that had already finished
            evaluation = self.validate(step)
        self.summaries.flush()
        return {**evaluation.metrics, **evaluation.outputs, "run_dir": self.run_dir, "stopped": False,
                "checkpoints": pathlib.Path(self.checkpoints.folder), "steps": step}
