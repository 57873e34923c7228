"""Which cell learns which lag: a sweep of cells over sequence lengths on a long-range task.

    python -m recipes.long_range                       # adding problem, 5 cells x 3 lengths, < 10 min on 2 cores
    python -m recipes.long_range --smoke               # a tiny sweep, seconds
    python -m recipes.long_range --task copy --cells gru,lstm --lengths 10,50,100
    python -m recipes.long_range --cells reservoir --readout ridge   # closed-form ESN readout
    python -m recipes.long_range --cells elman,ntm,clockwork --flow-penalties 0,1   # memory, clocks, Omega
    python -m recipes.long_range --task ntm_copy --cells lstm,ntm --lengths 20,30,50,100 --units 100
    python -m recipes.long_range --resume runs/SWEEP/RUN   # continue one run of a sweep

Every (cell, length) pair is its own run (`zoo.training.loop`: TensorBoard events with a
gradient-flow-through-time plot, checkpoints, a SavedModel export) in one sweep folder;
the sweep ends with a table of test error against the task's baseline
(`sweep.md`, `sweep.csv`, printed, and in TensorBoard beside a plot of error against
length per cell). The NTM copy task measures length generalisation instead: one run per
cell trains on lengths 1-20 and is tested at each of `--lengths`, one row each. Budget:
every run gets the same number of updates of the same batch
size and the same hidden size (`--units`); their parameter counts differ (the table
shows them).
"""

import dataclasses
import time

import keras
import numpy as np
import tensorflow as tf

from export.long_range import LongRangeServer, portable_forms
from export.saved_model import export_run
from zoo.cells import CELLS, MEMORY_AND_CLOCK_CELLS, time_scale_spread
from zoo.data.synthetic import TASKS
from zoo.evaluation.batched import row_chunks
from zoo.evaluation.gradient_flow import gradient_norms_through_time, plot_png, recurrent_cells
from zoo.evaluation.sweep import write_sweep_summary
from zoo.models.long_range import build_long_range_model
from zoo.run.cli import config_from_command_line, train_config
from zoo.run.config import TrainingConfig, exit_on_input_error, setting
from zoo.run.errors import InputError
from zoo.run.folders import new_run_dir
from zoo.run.task import Evaluation, Task
from zoo.training.flow_penalty import with_flow_penalty
from zoo.training.minibatch import GeneratedBatchRule
from zoo.training.ridge import RidgeReadoutRule

TASK_FILE = "task.json"
# A run solves its task when its test error is at most this share of the baseline's.
SOLVED_SHARE = 0.1


def parse_list(flag, text, item):
    """`text` split at commas, each converted by `item`; InputError naming `flag`."""
    try:
        values = [item(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or len(set(values)) != len(values):
        raise InputError(f"{flag} must be a comma-separated list of distinct values, received {text!r}")
    return values


# Steps of one generated set held in memory (about 0.4 GB of float32 features at 2 per step).
MAX_GENERATED_STEPS = 50_000_000


@dataclasses.dataclass(frozen=True)
class LongRangeConfig(TrainingConfig):
    task: str = setting("adding", "adding problem (regression), copy memory (per-step symbols), "
                        "temporal order (4 classes) or the NTM's copy task (8-bit vectors; trains "
                        "on lengths 1-20, tested at --lengths)", choices=tuple(TASKS))
    cells: str = setting("elman,leaky,reservoir,gru,lstm", "comma-separated cells, each one run "
                         "per length (a run folder holds one); also ntm (a Neural Turing Machine "
                         "with an LSTM controller of --units) and clockwork (the Clockwork RNN)")
    lengths: str = setting("10,30,100", "comma-separated sequence lengths T (the copy task's "
                           "blanks; ntm_copy: the lengths its runs are tested at); the Elman "
                           "network is expected to fail between the first and the last")
    units: int = setting(64, "hidden size of every cell (the reservoir's too): the sweep's budget "
                         "is equal updates, batch and units", minimum=1, maximum=4096)
    layers: int = setting(1, "stacked recurrent layers", minimum=1, maximum=8)
    batch_size: int = setting(64, "sequences per update, drawn afresh for each", minimum=1,
                              maximum=65536)
    steps: int = setting(1000, "updates per run; 1000 x 64 fresh sequences keeps the default "
                         "sweep of 15 runs within 10 minutes on 2 cores", minimum=1)
    lr: float = setting(3e-3, "peak learning rate (Adam)", above=0.0, maximum=10.0)
    warmup_steps: int = setting(30, "linear warm-up steps", minimum=0)
    validate_every: int = setting(500, "steps between validations (and gradient-flow plots)",
                                  minimum=1)
    leak_longest: int = setting(0, "the leaky cell's time constants are spread from 1 step to "
                                "this many (0: the sequence length)", minimum=0)
    trainable_leak: bool = setting(False, "learn the leaky cell's rates (they start spread from "
                                   "2 steps, as a rate of 1 has no logit)")
    spectral_radius: float = setting(0.95, "reservoir: largest |eigenvalue| of its fixed "
                                     "recurrent weights; near 1 remembers longest", above=0.0,
                                     maximum=10.0)
    connectivity: float = setting(0.1, "reservoir: share of nonzero recurrent weights",
                                  above=0.0, maximum=1.0)
    input_scaling: float = setting(1.0, "reservoir: scale of its fixed input weights", above=0.0)
    reservoir_leak: float = setting(1.0, "reservoir: leak rate (1: no leak)", above=0.0, maximum=1.0)
    memory_rows: int = setting(0, "NTM: memory rows N; 0: the task's, 128 for ntm_copy (as in "
                               "Graves et al., 2014, so that 100 vectors fit), 16 otherwise",
                               minimum=0, maximum=4096)
    memory_width: int = setting(0, "NTM: size M of a memory row; 0: 20 for ntm_copy (as in the "
                                "paper), 8 otherwise", minimum=0, maximum=4096)
    flow_penalties: str = setting("0", "comma-separated strengths lambda of the information-flow "
                                  "regulariser (Pascanu et al., 2013, eq. 9; zoo.training.flow_penalty), "
                                  "each one run per cell and length: loss + lambda * Omega; 0: none; "
                                  "--flow-penalty LAMBDA runs beside them")
    readout: str = setting("gradient", "how a reservoir's readout learns: by gradient like the "
                           "other cells, or in closed form (ridge regression on the states it "
                           "collects; not for the copy task, scored in nats)",
                           choices=("gradient", "ridge"))
    ridge: float = setting(1e-4, "penalty of the ridge readout", minimum=0.0)
    validation_examples: int = setting(512, "sequences scored at each validation", minimum=1,
                                       maximum=1_000_000)
    test_examples: int = setting(2048, "sequences scored once, at the end, for the table",
                                 minimum=1, maximum=1_000_000)
    model_name: str = setting("", "TF Serving model name; empty: long_range_TASK_CELL_TLENGTH")

    def __post_init__(self):
        super().__post_init__()
        for cell in self.cell_list():
            if cell not in CELLS and cell not in MEMORY_AND_CLOCK_CELLS:
                raise InputError(f"--cells: unknown cell {cell!r}; expected some of "
                                 f"{', '.join([*CELLS, *MEMORY_AND_CLOCK_CELLS])}")
        shortest = TASKS[self.task].minimum_length
        for length in self.length_list():
            if not shortest <= length <= 100000:
                raise InputError(f"--lengths: {length} is outside {shortest}..100000, the lengths "
                                 f"the {self.task} task takes")
        longest = TASKS[self.task].steps(max(self.length_list()))
        for flag, count in (("--validation-examples", self.validation_examples),
                            ("--test-examples", self.test_examples), ("--batch-size", self.batch_size)):
            if count * longest > MAX_GENERATED_STEPS:
                raise InputError(f"{flag} {count} x the steps of the longest of --lengths ({longest}) "
                                 f"is {count * longest} steps; expected at most {MAX_GENERATED_STEPS}, "
                                 "the generated sequences held in memory at once")
        if self.readout == "ridge" and self.strategy != "default":
            raise InputError("--readout ridge fits the readout in closed form on one device; "
                             "expected --strategy default with it")
        penalties = self.flow_penalty_list()
        if any(not 0.0 <= value < float("inf") for value in penalties):
            raise InputError(f"--flow-penalties {self.flow_penalties!r}: expected finite values >= 0")
        if any(penalties) and self.readout == "ridge":
            raise InputError("--flow-penalty: the ridge readout is fitted in closed form, with no gradient "
                             "to penalise; expected 0 with --readout ridge")
        if self.readout == "ridge" and TASKS[self.task].per_step:
            raise InputError(f"--readout ridge gives no probabilities, and the {self.task} task "
                             "is scored in nats: use --readout gradient")

    def cell_list(self):
        return parse_list("--cells", self.cells, str)

    def length_list(self):
        return parse_list("--lengths", self.lengths, int)

    def flow_penalty_list(self):
        """--flow-penalties, and --flow-penalty beside them where it is not among them."""
        penalties = parse_list("--flow-penalties", self.flow_penalties, float)
        return penalties + [self.flow_penalty] if self.flow_penalty not in (0.0, *penalties) else penalties

    def penalised(self):
        return any(self.flow_penalty_list())

    def one_run(self):
        """(cell, length) of a run's config, which names one cell (and one penalty): its
        length, or where the task trains across lengths, the longest it trains on (its
        validation length; the run is tested at each of --lengths)."""
        (cell,) = self.cell_list()
        trained = TASKS[self.task].trained_lengths
        if trained:
            return cell, trained[1]
        (length,) = self.length_list()
        return cell, length

    def test_lengths(self):
        """The lengths a run of this config is tested at."""
        return self.length_list() if TASKS[self.task].trained_lengths else [self.one_run()[1]]

    def penalty(self):
        """The flow penalty's lambda of a run's config."""
        (value,) = self.flow_penalty_list()
        return value


SMOKE = dict(lengths="6,12", units=8, batch_size=16, steps=6, warmup_steps=2, validate_every=3,
             checkpoint_every=3, histogram_every=3, validation_examples=32, test_examples=64)


@dataclasses.dataclass(frozen=True)
class Generated:
    """A run's data: training batches drawn on demand; fixed validation and test sets."""
    assets: dict
    make_batch: object
    valid: tuple
    test: dict  # {length: (inputs, targets)}


def cell_options(config, length):
    """The cell's own arguments in a run at `length`."""
    cell, _ = config.one_run()
    if cell == "leaky":
        longest = config.leak_longest or length
        shortest = 2.0 if config.trainable_leak else 1.0
        return {"leak": time_scale_spread(config.units, max(longest, shortest), shortest),
                "trainable_leak": config.trainable_leak}
    if cell == "ntm":
        rows, width = (128, 20) if config.task == "ntm_copy" else (16, 8)
        return {"memory_rows": config.memory_rows or rows, "memory_width": config.memory_width or width}
    if cell == "reservoir":
        return {"spectral_radius": config.spectral_radius, "connectivity": config.connectivity,
                "input_scaling": config.input_scaling, "leak": config.reservoir_leak}
    return {}


def scored(spec, outputs, targets):
    """The outputs the targets score: all of them, or for bits, the last steps, as many as
    the targets have (the written copy)."""
    if not spec.bits:
        return outputs
    if isinstance(outputs, np.ndarray):
        return outputs[:, outputs.shape[1] - targets.shape[1]:]
    return outputs[:, tf.shape(outputs)[1] - tf.shape(targets)[1]:]  # lengths vary between batches


def task_loss(spec, outputs, targets):
    """MSE, cross-entropy in nats, or for bits the mean binary cross-entropy in nats per
    bit, of the model's outputs."""
    if spec.regression:
        return tf.reduce_mean(tf.square(outputs[:, 0] - targets))
    if spec.bits:
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(targets, scored(spec, outputs, targets)))
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, outputs))


def batch_loss(spec):
    """loss(model, (inputs, targets), training): the task loss."""

    def loss(model, batch, training):
        inputs, targets = batch
        return task_loss(spec, model(inputs, training=training), targets)

    return loss


def task_error(spec, outputs, targets):
    """The task's error of outputs (NumPy) against targets, as in the table."""
    if spec.regression:
        return float(np.mean(np.square(outputs[:, 0] - targets)))
    if spec.bits:  # bits wrong per sequence: a bit is 1 where its logit is positive
        return float(np.mean(np.sum((scored(spec, outputs, targets) > 0) != (targets > 0.5), axis=(1, 2))))
    if spec.per_step:
        return float(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, outputs)))
    return float(np.mean(np.argmax(outputs, -1) != targets))


class LongRangeTask(Task):
    name = "long_range"
    module = __spec__.name
    assets_file = TASK_FILE
    config_class = LongRangeConfig
    hparams = ("task", "cells", "lengths", "flow_penalties", "units", "layers", "batch_size", "steps", "lr",
               "readout", "seed")

    def prepare(self, config, saved_assets=None):
        cell, length = config.one_run()
        spec = TASKS[config.task]

        def make_batch(index):
            rng = np.random.default_rng([config.seed, 0, index])
            drawn = int(rng.integers(spec.trained_lengths[0], length + 1)) if spec.trained_lengths else length
            return spec.generate(rng, config.batch_size, drawn)

        return Generated(
            {"task": config.task, "length": length}, make_batch,
            spec.generate(np.random.default_rng([config.seed, 1]), config.validation_examples, length),
            {test: spec.generate(np.random.default_rng([config.seed, 2] + ([test] if spec.trained_lengths else [])),
                                 config.test_examples, test) for test in config.test_lengths()})

    def run_name(self, config):
        cell, length = config.one_run()
        trained = TASKS[config.task].trained_lengths
        lengths = f"{trained[0]}-{length}" if trained else length
        return f"{series(cell, config.penalty())}-T{lengths}"

    def describe(self, config, data):
        cell, length = config.one_run()
        spec = TASKS[config.task]
        if spec.trained_lengths:
            return (f"{config.task}, trained on T = {spec.trained_lengths[0]}-{length} (one T a batch), tested at "
                    f"T = {', '.join(map(str, config.test_lengths()))}, {cell} x {config.units}: {config.steps} "
                    f"updates of {config.batch_size} fresh sequences; baseline at T = {length}: "
                    f"{spec.error_name} {spec.baseline(length):.4f}")
        return (f"{config.task}, T = {length} ({spec.steps(length)} steps), {cell} x {config.units}: "
                f"{config.steps} updates of {config.batch_size} fresh sequences; baseline "
                f"{spec.error_name} {spec.baseline(length):.4f}")

    def build_model(self, config, assets, inference=False):
        cell, length = config.one_run()
        spec = TASKS[config.task]
        return build_long_range_model(spec.features, spec.outputs, cell, config.units, config.layers, spec.per_step,
                                      config.seed, cell_options(config, length), name=f"long_range_{config.task}")

    def update_rule(self, config, model, optimizer, data):
        spec = TASKS[config.task]
        if config.readout == "ridge" and config.one_run()[0] == "reservoir":
            readout = model.get_layer("readout")
            features = keras.Model(model.input, readout.input)
            return RidgeReadoutRule(
                features, readout, data.make_batch,
                (lambda y: y[:, None]) if spec.regression else (lambda y: np.eye(spec.outputs)[y]),
                config.ridge)
        return GeneratedBatchRule(model, optimizer, batch_loss(spec), data.make_batch, config.batch_size,
                                  config.clip_norm, config.clip_value, config.jit_compile, config.penalty())

    def evaluator(self, config, model, data):
        cell, length = config.one_run()
        spec = TASKS[config.task]
        baseline = spec.baseline(length)
        predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)  # a trace, not one a length
        penalty_of = tf.function(
            lambda x, y: with_flow_penalty(lambda: task_loss(spec, model(x, training=False), y))[1])
        readout = model.get_layer("readout")

        def error_of(examples):
            inputs, targets = examples
            outputs = np.concatenate([predict(chunk).numpy() for chunk, in row_chunks(inputs)])
            return task_error(spec, outputs, targets)

        def last_step_loss(h):
            _, targets = data.valid
            rows = targets[:32, -1] if spec.per_step else targets[:32]
            # The task's loss of the last step, summed over the rows (and bits), not averaged.
            return task_loss(spec, readout(h), rows) * float(np.size(rows))

        def evaluate(step):
            error = error_of(data.valid)
            inputs = data.valid[0][:32]
            state = [tf.zeros((len(inputs), size)) for c in recurrent_cells(model) for size in c.state_size]
            norms = gradient_norms_through_time(recurrent_cells(model), inputs, state, last_step_loss)
            metrics = {"valid/error": error, "valid/error_to_baseline": error / baseline,
                       "gradient_flow/first_to_last_ratio": norms[0] / norms[-1]}
            metrics["valid/flow_penalty"] = float(penalty_of(inputs, data.valid[1][:32]))  # penalised or not
            outputs = {"valid_error": error, "baseline": baseline,
                       "trainable_parameters": sum(int(np.prod(w.shape)) for w in model.trainable_weights)}
            summary = f"valid {spec.error_name} {error:.4f} (baseline {baseline:.4f})"
            if step >= config.steps:
                outputs["test_errors"] = {test: error_of(examples) for test, examples in data.test.items()}
                if spec.trained_lengths:
                    metrics.update({f"test/error_T{test}": value for test, value in outputs["test_errors"].items()})
                    summary += ", test " + ", ".join(f"T = {test} {value:.4f}"
                                                     for test, value in outputs["test_errors"].items())
                else:
                    outputs["test_error"] = metrics["test/error"] = outputs["test_errors"][length]
                    summary += f", test {outputs['test_error']:.4f}"
            return Evaluation(metrics, summary,
                              images={"gradient_flow/plot": plot_png(norms, f"{cell}, T = {length}, step {step}")},
                              outputs=outputs)

        return evaluate

    def serving(self, model, assets, folder, budget=0):
        return LongRangeServer(model, assets, folder, budget)

    def portable_signatures(self, model, assets):
        return portable_forms(model, assets)


TASK = LongRangeTask()


def series(cell, penalty):
    """A run's cell, and its flow penalty where it has one: `gru`, `gru-flow1`."""
    return cell if not penalty else f"{cell}-flow{penalty:g}"


def run_config(config, cell, length, sweep_dir, penalty=0.0):
    """The config of one run of the sweep: one cell, one length (None: all of them, for a
    task that trains across lengths), one flow penalty, in the sweep's folder."""
    lengths = config.lengths if length is None else str(length)
    name = f"{config.model_name or 'long_range_' + config.task}_{series(cell, penalty)}"
    name += "" if length is None else f"_T{length}"
    return dataclasses.replace(config, cells=cell, lengths=lengths, flow_penalties=str(penalty),
                               flow_penalty=penalty, logdir=str(sweep_dir), model_name=name)


def table_rows(config, results):
    """One dict per run and length it was tested at: what the summary table shows."""
    spec = TASKS[config.task]
    rows = []
    for (cell, _, penalty), (result, seconds) in results.items():
        for length, error in result["test_errors"].items():
            baseline = spec.baseline(length)
            rows.append({"cell": series(cell, penalty), "T": length, "flow_penalty": penalty,
                         "test_error": error, "baseline": baseline, "error_to_baseline": error / baseline,
                         "solved": error <= SOLVED_SHARE * baseline,
                         "gradient_flow_ratio": result["gradient_flow/first_to_last_ratio"],
                         "trainable_parameters": result["trainable_parameters"],
                         "seconds": round(seconds, 1)})
    return rows


@exit_on_input_error
def main(argv=None):
    config, resume = config_from_command_line(
        TASK, argv, SMOKE, "Sweep recurrent cells over sequence lengths on a long-range task.")
    if resume:
        result = train_config(TASK, config, resume)
        if result is not None:
            print(f"export: {export_run(result['run_dir'], config.export_dir or None)}")
        return
    sweep_dir = new_run_dir(config.logdir, f"{config.task}-sweep")
    results = {}
    spec = TASKS[config.task]
    for length in [None] if spec.trained_lengths else config.length_list():
        for cell in config.cell_list():
            for penalty in config.flow_penalty_list():
                one = run_config(config, cell, length, sweep_dir, penalty)
                started = time.perf_counter()
                result = train_config(TASK, one)
                if result is None:
                    print(f"sweep stopped; the runs so far are in {sweep_dir}")
                    return
                exported = export_run(result["run_dir"], config.export_dir or None)
                results[cell, length, penalty] = (result, time.perf_counter() - started)
                errors = ", ".join(f"T = {test}: {error:.4f}" for test, error in result["test_errors"].items())
                print(f"{series(cell, penalty)}: test error {errors} (baseline {result['baseline']:.4f}); "
                      f"export: {exported}\n")
    trained = (f" (trained on T = {spec.trained_lengths[0]}-{spec.trained_lengths[1]}, one T a batch)"
               if spec.trained_lengths else "")
    heading = (f"Task: {config.task}; test {spec.error_name} ({config.test_examples} sequences) after "
               f"{config.steps} updates of {config.batch_size}{trained}, {config.units} units; solved: at most "
               f"{SOLVED_SHARE:.0%} of the baseline.")
    markdown = write_sweep_summary(sweep_dir, table_rows(config, results), heading,
                                   f"{config.task}: test {spec.error_name}", spec.baseline)
    print(markdown)
    print(f"sweep folder: {sweep_dir} (sweep.md, sweep.csv)")
    print(f"TensorBoard:  tensorboard --logdir {sweep_dir}")


if __name__ == "__main__":
    main()
