"""Recipe configs: frozen dataclasses whose fields carry their reason, limits and flag.

A field is declared with `setting(default, why, ...)`; the `why` is the `--help` text.
`check_config` enforces the limits (called from a config's `__post_init__`, so a bad
value never makes a config), `parse_flags` turns the fields into `--field-name` flags,
and `save_config` / `load_config` write and read the run folder's `config.json`.
"""

import argparse
import dataclasses
import json
import sys

from zoo.errors import InputError


def setting(default, why, minimum=None, above=None, maximum=None, below=None, choices=None):
    """A dataclass field with its reason (`why`) and its allowed values."""
    limits = dict(minimum=minimum, above=above, maximum=maximum, below=below, choices=choices)
    return dataclasses.field(default=default, metadata={"why": why, **limits})


def flag_name(name):
    return "--" + name.replace("_", "-")


def _allowed(meta):
    parts = []
    if meta["choices"] is not None:
        parts.append("one of " + ", ".join(map(str, meta["choices"])))
    if meta["minimum"] is not None:
        parts.append(f">= {meta['minimum']}")
    if meta["above"] is not None:
        parts.append(f"> {meta['above']}")
    if meta["maximum"] is not None:
        parts.append(f"<= {meta['maximum']}")
    if meta["below"] is not None:
        parts.append(f"< {meta['below']}")
    return " and ".join(parts)


def check_config(config):
    """Raise InputError naming the first field (as its flag) outside its allowed values."""
    for field in dataclasses.fields(config):
        value, meta = getattr(config, field.name), field.metadata
        wrong_type = not isinstance(value, field.type) or (
            field.type is not bool and isinstance(value, bool))
        if field.type is float and isinstance(value, int) and not isinstance(value, bool):
            wrong_type = False
        if wrong_type:
            raise InputError(f"{flag_name(field.name)} must be a {field.type.__name__}, "
                             f"received {value!r}")
        bad = ((meta.get("choices") is not None and value not in meta["choices"])
               or (meta.get("minimum") is not None and not value >= meta["minimum"])
               or (meta.get("above") is not None and not value > meta["above"])
               or (meta.get("maximum") is not None and not value <= meta["maximum"])
               or (meta.get("below") is not None and not value < meta["below"]))
        if bad:
            raise InputError(f"{flag_name(field.name)} must be {_allowed(meta)}, "
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
