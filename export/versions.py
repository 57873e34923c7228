"""TF Serving's folder layout, `<base>/<model_name>/<version>/`, written atomically.

TF Serving polls the base folder and loads the highest integer version it finds, so a
version must appear complete or not at all: it is written into a hidden temporary folder
beside it (a name TF Serving ignores) and renamed into place, which is atomic on one
file system. A failure removes the temporary folder; concurrent exporters that pick the
same automatic version number retry with the next one.
"""

import os
import pathlib
import shutil
import uuid

from zoo.run.errors import InputError

RETRIES = 100


def versions(base):
    """Integer names under `base`, ascending: versions, and any file that takes a
    version's name (so the next free number is past it)."""
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.name.isdigit())


def write_version(base, write, version=None):
    """Write a version with `write(folder)`; returns the final folder.

    Args:
        base: `<export_dir>/<model_name>`.
        write: Fills a (temporary) folder with a complete SavedModel.
        version: Integer version; None takes the next free number.
    """
    base = pathlib.Path(base)
    if version is not None and (not isinstance(version, int) or version < 1):
        raise InputError(f"--version must be a positive integer, received {version!r}")
    if base.exists() and not base.is_dir():
        raise InputError(f"{base}: a file; expected the model's folder of versions")
    if version is not None and (base / str(version)).exists():
        raise InputError(f"--version {version}: {base / str(version)} already exists")
    base.mkdir(parents=True, exist_ok=True)
    temporary = base / f".partial-{uuid.uuid4().hex}"
    try:
        write(temporary)
        for _ in range(RETRIES):
            target = base / str(version if version is not None else max(versions(base), default=0) + 1)
            try:
                os.rename(temporary, target)  # fails if target exists and is not empty
                return target
            except OSError:
                if version is not None or not target.exists():
                    raise
        raise InputError(f"{base}: {RETRIES} exporters took the next version first; expected fewer at once")
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
