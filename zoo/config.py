"""Recipe configs: frozen dataclasses whose fields carry their reason, limits and flag.

A field is declared with `setting(default, why, ...)`; the `why` is the `--help` text.
`check_config` enforces the limits (called from a config's `__post_init__`, so a bad
value never makes a config), `add_config_flags` turns the fields into `--field-name` flags,
and `save_config` / `load_config` write and read the run folder's `config.json`.
"""

import argparse
import dataclasses
import json
import operator
import sys

from zoo.errors import InputError


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
    """Raise InputError naming the first field (as its flag) outside its allowed values."""
    for field in dataclasses.fields(config):
        value, meta = getattr(config, field.name), field.metadata
        # bool is an int to Python, and an int is a fine float; neither is more.
        accepted = (int, float) if field.type is float else field.type
        if isinstance(value, bool) != (field.type is bool) or not isinstance(value, accepted):
            raise InputError(f"{flag_name(field.name)} must be a {field.type.__name__}, "
                             f"received {value!r}")
        allowed, passes = [], True
        if meta.get("choices") is not None:
            allowed.append("one of " + ", ".join(map(str, meta["choices"])))
            passes = value in meta["choices"]
        for limit, (symbol, within) in LIMITS.items():
            if meta.get(limit) is not None:
                allowed.append(f"{symbol} {meta[limit]}")
                passes = passes and within(value, meta[limit])
        if not passes:
            raise InputError(f"{flag_name(field.name)} must be {' and '.join(allowed)}, "
                             f"received {value!r}")


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line, naming it, and exits with 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_config_flags(parser, config_class):
    """One flag per field; unset flags are absent from the parsed namespace."""
    for field in dataclasses.fields(config_class):
        kwargs = dict(default=argparse.SUPPRESS, dest=field.name,
                      help=f"{field.metadata['why']} (default: {field.default!r})")
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


def save_config(config, path):
    path.write_text(json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True) + "\n")


def load_config(config_class, path):
    """The config saved at `path`; InputError if it is missing or not of this class."""
    try:
        values = json.loads(path.read_text())
        return config_class(**values)
    except FileNotFoundError as error:
        raise InputError(f"{path}: no config.json; expected a run folder") from error
    except (json.JSONDecodeError, TypeError) as error:
        raise InputError(f"{path}: not a {config_class.__name__} ({error})") from error


def exit_on_input_error(main):
    """Decorator for command-line entry points: InputError -> one line on stderr, exit 2."""

    def run(argv=None):
        try:
            return main(argv)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(2) from None

    return run
