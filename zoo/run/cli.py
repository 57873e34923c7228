"""The command line every recipe shares: `python -m recipes.NAME [--flags] [--smoke]
[--resume RUN_DIR]`.

`train_from_command_line(task, argv, smoke)` parses the config's flags, starts or resumes
the run, trains with SIGTERM / Ctrl-C turned into a clean stop, and hands the result back
to the recipe's `main` (which exports and prints what its users want to see). Bad input
raises InputError, which `zoo.run.config.exit_on_input_error` turns into one line and exit
status 2; a diverged run exits with status 1.
"""

import dataclasses
import sys

from zoo.fused.schedule import claim_core_per_group
from zoo.run.config import OneLineParser, add_config_flags, config_overrides
from zoo.run.cpu_allocator import keep_freed_memory_in_process
from zoo.run.errors import InputError
from zoo.run.folders import RESUME_OVERRIDES, load_config
from zoo.run.paths import check_writable_folder
from zoo.training.distribution import WorkerLost, make_strategy, split_cpu
from zoo.training.loop import TrainingDiverged, train_and_evaluate
from zoo.training.signals import StopOnSignal


def parse(task, argv, description):
    parser = OneLineParser(prog=f"python -m {task.module}", description=description)
    add_config_flags(parser, task.config_class)
    parser.add_argument("--smoke", action="store_true", help="tiny configuration, runs in seconds")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue RUN_DIR from its newest checkpoint (only --steps may change)")
    return parser.parse_args(argv)


def train_from_command_line(task, argv, smoke, description):
    """(config, result of `zoo.training.loop.train_and_evaluate`), or (config, None) when a
    signal stopped the run (after saying how to resume it).

    Args:
        task: The recipe's task.
        argv: Command-line arguments (None: sys.argv[1:]).
        smoke: The `--smoke` overrides of the config's defaults.
        description: The recipe's one-line `--help` description.
    """
    config, resume = config_from_command_line(task, argv, smoke, description)
    return config, train_config(task, config, resume)


def config_from_command_line(task, argv, smoke, description):
    """(config, run folder to resume or None) from the command line; InputError on a bad
    value. Arguments as in `train_from_command_line`."""
    keep_freed_memory_in_process()
    arguments = parse(task, argv, description)
    overrides = config_overrides(arguments, task.config_class)
    if arguments.resume:
        config = load_config(task, arguments.resume)
        if set(overrides) - RESUME_OVERRIDES:
            raise InputError("--resume continues with the run's saved configuration; only "
                             "--steps, --strategy, --devices and --schedule may be given with it")
        config = dataclasses.replace(config, **overrides)
    else:
        config = task.config_class(**{**(smoke if arguments.smoke else {}), **overrides})
    if not arguments.resume:
        check_writable_folder(config.logdir, "--logdir")
    if config.export_dir:
        check_writable_folder(config.export_dir, "--export-dir")
    # Both before anything makes TensorFlow create its devices.
    if config.strategy == "mirrored":
        split_cpu(config.devices)
    elif config.strategy == "default" and task.fused_passes_only and not (config.penalised() or config.jit_compile):
        claim_core_per_group(config.schedule, config.batch_size, config.units)
    return config, arguments.resume


def train_config(task, config, resume=None):
    """Train `config` (or resume the run folder `resume`) with SIGTERM / Ctrl-C turned into
    a clean stop: the result of `zoo.training.loop.train_and_evaluate`, or None when a signal
    stopped the run (after saying how to resume it). A diverged run exits with status 1."""
    # The strategy first: a multi-worker strategy starts TensorFlow's coordination service,
    # whose preemption notifier takes SIGTERM over; the handler installed after it wins.
    make_strategy(config.strategy, config.devices)
    with StopOnSignal() as stop:
        try:
            result = train_and_evaluate(task, config, resume, resume=bool(resume), stop_requested=stop)
        except (TrainingDiverged, WorkerLost) as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(1) from None
    if result.get("chief") is False:
        print("this worker's part is done; the chief wrote the run, its checkpoints and export")
        return None
    if result["stopped"]:
        cause = stop.signal_name or "another worker's stop"
        print(f"stopped by {cause} after step {result['steps']}; checkpoint in {result['checkpoints']}")
        print(f"resume: python -m {task.module} --resume {result['run_dir']}")
        return None
    return result


def print_paths(task, result, exported):
    """Where the run put everything, and the commands that use it."""
    print(f"run folder:  {result['run_dir']}")
    print(f"checkpoints: {result['checkpoints']}")
    print(f"TensorBoard: tensorboard --logdir {result['run_dir'].parent}")
    print(f"export:      {exported}")
    print(f"resume:      python -m {task.module} --resume {result['run_dir']} --steps N")
