"""Recipe configs: frozen dataclasses whose fields carry their reason, limits and flag.

A field is declared with `setting(default, why, ...)`; the `why` is the `--help` text.
`check_config` enforces the limits (called from a config's `__post_init__`, so a bad
value never makes a config) and `add_config_flags` turns the fields into `--field-name`
flags. `TrainingConfig` holds the settings every recipe's training shares; a recipe's
config inherits it, adds its own fields and may redeclare a shared one with its own
default and reason. `zoo.run.folders` writes and reads the run folder's `config.json`.
"""

import argparse
import dataclasses
import math
import operator
import sys

from zoo.fused.schedule import DEFAULT_SCHEDULE, SCHEDULES
from zoo.run.errors import InputError

# The largest integer any setting takes unless it declares its own maximum: every count,
# step and seed fits TensorFlow's int32 tensors and NumPy's seeds.
LARGEST_INT = 2**31 - 1
# Limit name -> (how the message writes it, whether a value passes it).
LIMITS = {
    "minimum": (">=", operator.ge),
    "above": (">", operator.gt),
    "maximum": ("<=", operator.le),
    "below": ("<", operator.lt),
}


def setting(default, why, choices=None, **limits):
    """A dataclass field with its reason (`why`) and its allowed values: `choices`, and
    any of the LIMITS (`minimum=1`, `above=0.0`, ...)."""
    unknown = set(limits) - set(LIMITS)
    if unknown:
        raise TypeError(f"setting() got unknown limits {sorted(unknown)}")
    return dataclasses.field(default=default, metadata={"why": why, "choices": choices, **limits})


def flag_name(name):
    return "--" + name.replace("_", "-")


def check_config(config):
    """Raise InputError naming the first field (as its flag) outside its allowed values:
    its choices and limits, finite for a float, at most LARGEST_INT for an int."""
    for field in dataclasses.fields(config):
        value, meta = getattr(config, field.name), field.metadata
        # bool is an int to Python, and an int is a fine float; neither is more.
        accepted = (int, float) if field.type is float else field.type
        if isinstance(value, bool) != (field.type is bool) or not isinstance(value, accepted):
            raise InputError(f"{flag_name(field.name)} must be a {field.type.__name__}, "
                             f"received {value!r}")
        if field.type is float and not math.isfinite(value):
            raise InputError(f"{flag_name(field.name)} must be a finite number, received {value!r}")
        limits = dict(meta)
        if field.type is int and limits.get("maximum") is None and limits.get("below") is None:
            limits["maximum"] = LARGEST_INT
        allowed, passes = [], True
        if meta.get("choices") is not None:
            allowed.append("one of " + ", ".join(map(str, meta["choices"])))
            passes = value in meta["choices"]
        for limit, (symbol, within) in LIMITS.items():
            if limits.get(limit) is not None:
                allowed.append(f"{symbol} {limits[limit]}")
                passes = passes and within(value, limits[limit])
        if not passes:
            raise InputError(f"{flag_name(field.name)} must be {' and '.join(allowed)}, "
                             f"received {value!r}")


def check_int_flag(flag, value, minimum, maximum=LARGEST_INT):
    """InputError naming `flag` unless minimum <= value <= maximum (flags outside a config)."""
    if not minimum <= value <= maximum:
        raise InputError(f"{flag} must be >= {minimum} and <= {maximum}, received {value}")


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line, naming it, and exits with 2; every
    command-line entry point takes `--verbose` (read by the packages' `__init__`, before
    TensorFlow loads)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--verbose", action="store_true",
                          help="show TensorFlow's C++ start-up and log lines (hidden by default)")

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_config_flags(parser, config_class):
    """One flag per field; unset flags are absent from the parsed namespace."""
    for field in dataclasses.fields(config_class):
        # argparse %-formats help texts; a why's own "10%" must stay literal.
        why = f"{field.metadata['why']} (default: {field.default!r})".replace("%", "%%")
        kwargs = dict(default=argparse.SUPPRESS, dest=field.name, help=why)
        if field.type is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = field.type
            kwargs["metavar"] = field.type.__name__.upper()
            if field.metadata.get("choices"):
                kwargs["choices"] = field.metadata["choices"]
                kwargs["metavar"] = "{" + ",".join(field.metadata["choices"]) + "}"
        parser.add_argument(flag_name(field.name), **kwargs)


def config_overrides(namespace, config_class):
    """The config fields given on the command line, as a dict."""
    names = {field.name for field in dataclasses.fields(config_class)}
    return {name: value for name, value in vars(namespace).items() if name in names}


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """The training settings every recipe shares (the update rule's, the run's, export's)."""

    batch_size: int = setting(64, "examples (or streams) per update", minimum=1, maximum=65536)
    steps: int = setting(1000, "parameter updates", minimum=1)
    optimizer: str = setting("adam", "adam adapts per weight and needs little tuning; sgd has "
                             "momentum 0.9", choices=("adam", "sgd"))
    lr: float = setting(3e-3, "peak learning rate; Adam is stable at 3e-3 with norm clipping",
                        above=0.0, maximum=10.0)
    lr_schedule: str = setting("cosine", "cosine decay to 10% after warm-up; constant keeps --lr",
                               choices=("cosine", "constant"))
    warmup_steps: int = setting(50, "linear warm-up, so Adam's first steps do not overshoot",
                                minimum=0)
    clip_norm: float = setting(1.0, "clip gradients to this global norm (0: off); guards against "
                               "exploding gradients through time", minimum=0.0)
    clip_value: float = setting(0.0, "clip each gradient entry to +-value before the norm clip "
                                "(0: off)", minimum=0.0)
    seed: int = setting(0, "seed of weights, dropout, data order and samples; same seed, same run",
                        minimum=0)
    validate_every: int = setting(250, "steps between validations", minimum=1)
    checkpoint_every: int = setting(100, "steps between checkpoints; at most this many are lost "
                                    "when a run dies", minimum=1)
    histogram_every: int = setting(100, "steps between weight and gradient histograms", minimum=1)
    max_bad_steps: int = setting(5, "consecutive non-finite updates (skipped) before the run stops",
                                 minimum=1)
    logdir: str = setting("runs", "folder that holds one folder per run")
    export_dir: str = setting("", "base folder of the SavedModel export written at the end; empty: "
                              "RUN_DIR/export, so a run folder is self-contained")
    model_name: str = setting("", "TF Serving model name (the export's subfolder); empty: the "
                              "recipe's name")
    request_budget: int = setting(0, "the most work one served request may cost, in cell steps "
                                  "(batch x time, batch x beam x length: docs/serving.md); 0: the "
                                  "recipe's default", minimum=0)
    flow_penalty: float = setting(0.0, "lambda of the information-flow regulariser added to the loss "
                                  "(Pascanu et al., 2013, eq. 9; zoo.training.flow_penalty); it runs "
                                  "the recurrent layers on the cell loop, about 3x the update's time "
                                  "(0: off)", minimum=0.0)
    schedule: str = setting(DEFAULT_SCHEDULE, "how the fused passes use a CPU's cores (zoo.fused.schedule): auto "
                            "splits a batch's rows into two passes side by side where that measured "
                            "faster (no GPU, 2+ cores, 16+ rows, 128+ units), on 2 cores each on a core of its "
                            "own (one intra-op thread; a TBPTT update then runs the whole model once per row "
                            "group, zoo.training.row_groups); single runs one pass; batch-split always "
                            "splits; results differ only by float rounding", choices=SCHEDULES)
    jit_compile: bool = setting(False, "compile the update with XLA; slower on CPU here, try it "
                                "on a GPU")
    strategy: str = setting("default", "tf.distribute: one device, mirrored over --devices of this "
                            "machine, or multi_worker over the cluster in TF_CONFIG; every replica "
                            "takes a block of the batch's rows", choices=("default", "mirrored", "multi_worker"))
    devices: int = setting(2, "replicas of --strategy mirrored: this many GPUs, or the CPU split into "
                           "this many logical devices where there are fewer", minimum=1, maximum=1024)

    def __post_init__(self):
        check_config(self)
        if self.strategy != "default" and self.jit_compile:
            raise InputError("--jit-compile runs on one device; expected --strategy default with it")
        if self.penalised() and self.jit_compile:
            raise InputError("--flow-penalty: the penalty's second derivative through a loop of cell steps "
                             "does not compile with XLA (tf2xla refuses its loop accumulators); expected "
                             "--no-jit-compile with it")

    def penalised(self):
        """Whether the run adds the flow penalty (a sweep's config may hold several)."""
        return bool(self.flow_penalty)


def exit_on_input_error(main):
    """Decorator for command-line entry points: InputError -> one line on stderr, exit 2."""

    def run(argv=None):
        try:
            return main(argv)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(2) from None

    return run
