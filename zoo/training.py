"""`train_and_evaluate(task, config, run_dir)`: the one training loop of every recipe.

Reads top to bottom: the task's data (every input checked before anything is written),
the run folder, model, optimizer and update rule, restore, then the loop: an update,
its scalars, histograms, validation, checkpoint, and the stop checks. What differs
between recipes is the task's (`zoo.task`); the update rule (`zoo.tbptt`,
`zoo.minibatch`) walks the data and carries its own state, which the checkpoints hold.
"""

import pathlib
import shutil
import tempfile
import time

import keras

from zoo.checkpoints import RunCheckpoints
from zoo.distribution import agreed_stop, check_divisible, is_chief, make_strategy, worker_count, worker_losses
from zoo.evaluation import copy_weights
from zoo.progress import Progress
from zoo.runs import create_run, new_run_dir
from zoo.summaries import RunSummaries


class TrainingDiverged(RuntimeError):
    """Too many consecutive updates with a non-finite loss or gradient."""


def build_optimizer(config):
    """The optimizer of a `zoo.config.TrainingConfig`: warm-up, then cosine decay to 10%."""
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
    checkpoint of the run folder `restore_from` (None: a new run)."""
    keras.utils.set_random_seed(config.seed)
    several_workers = worker_count(strategy) > 1
    if several_workers:
        stop_requested = agreed_stop(strategy)(stop_requested)

    # Under a strategy, weights and optimizer state are mirrored on every replica, and the
    # update rule runs its updates across them (`zoo.distribution`).
    with strategy.scope():
        model = task.build_model(config, data.assets)
        inference = task.build_model(config, data.assets, inference=True)
        optimizer = build_optimizer(config)
        rule = task.update_rule(config, model, optimizer, data)
    checkpoints = RunCheckpoints(run_dir, model, optimizer, rule.checkpointed())
    restored = checkpoints.restore_latest(restore_from) if restore_from else None
    summaries = RunSummaries(run_dir, start_step=int(checkpoints.step))
    summaries.hparams(task.hparams_of(config))
    evaluate = task.evaluator(config, inference, data)
    print(f"run folder: {run_dir}" + (f" (resumed from {restored})" if restored else ""))
    print(task.describe(config, data))

    def validate(step):
        copy_weights(model, inference)
        evaluation = evaluate(step)
        summaries.scalars(step, evaluation.metrics)
        for tag, markdown in evaluation.texts.items():
            summaries.text(step, tag, markdown)
        for tag, png in evaluation.images.items():
            summaries.png(step, tag, png)
        print(f"\nstep {step}: {evaluation.summary}")
        return evaluation

    def collectives():
        """A failed collective (a worker died or is unreachable) ends the run in one line."""
        return worker_losses(several_workers, lambda: (
            f"at step {int(checkpoints.step) + 1}; the last checkpoint is "
            f"{checkpoints.manager.latest_checkpoint}"))

    progress = Progress(config.steps, show_progress)
    rate_tag = f"train/{rule.item_name}_per_second"
    bad_steps, evaluation = 0, None
    step = int(checkpoints.step)
    while step < config.steps:
        for batch in rule.batches():
            started = time.perf_counter()
            with collectives():
                result = rule.train_step(*batch)
            loss = float(result["loss"])
            rate = rule.items_per_update / (time.perf_counter() - started)
            step += 1
            checkpoints.step.assign(step)
            if result["finite"]:
                bad_steps = 0
                checkpoints.clipped_steps.assign_add(int(result["clipped"]))
                scalars = {"train/loss": loss, **task.train_scalars(loss)}
                # A closed-form rule (`zoo.ridge`) has no gradient, learning rate or clipping.
                by_gradient = {} if "grad_norm" not in result else {
                    "train/learning_rate": float(optimizer.learning_rate),
                    "train/grad_norm": float(result["grad_norm"]),
                    "train/clipped_share": int(checkpoints.clipped_steps) / step}
                summaries.scalars(step, {**scalars, **by_gradient, rate_tag: rate})
                progress.update(step, [(tag.split("/")[-1], value) for tag, value in scalars.items()]
                                + [(f"{rule.item_name}/s", rate)])
                if step % config.histogram_every == 0:
                    summaries.histograms(step, model.trainable_variables, result.get("grads"))
            else:
                bad_steps += 1
                print(f"\nstep {step}: non-finite loss or gradient; update skipped")
                summaries.scalars(step, {"train/skipped_update": 1.0})
                if bad_steps >= config.max_bad_steps:
                    raise TrainingDiverged(
                        f"step {step}: {bad_steps} consecutive non-finite updates; the last "
                        f"checkpoint ({checkpoints.manager.latest_checkpoint}) is from before "
                        "the fault. Likely causes: learning rate too high (--lr), gradient "
                        "clipping off (--clip-norm)")
            # A skipped update still ends its step: validation, checkpoint and stop
            # checks run as after any other.
            if step % config.validate_every == 0 or step == config.steps:
                evaluation = validate(step)
            if step % config.checkpoint_every == 0 or step == config.steps:
                checkpoints.save()
            if step >= config.steps:
                break
            with collectives():
                stopping = stop_requested(step)
            if stopping:
                checkpoints.save()
                summaries.flush()
                return {"stopped": True, "run_dir": run_dir, "steps": step,
                        "checkpoints": pathlib.Path(checkpoints.folder)}
    if evaluation is None:  # resumed a run that had already finished
        evaluation = validate(step)
    summaries.flush()
    return {**evaluation.metrics, **evaluation.outputs, "run_dir": run_dir, "stopped": False,
            "checkpoints": pathlib.Path(checkpoints.folder), "steps": step}
