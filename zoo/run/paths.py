"""Output folders named on the command line, checked before any work: each must be a
folder, or creatable as one, where this process can write."""

import pathlib
import tempfile

from zoo.run.errors import InputError


def check_writable_folder(path, flag):
    """InputError naming `flag` unless `path` is a writable folder or can be created as one.

    The nearest existing ancestor is probed by creating (and removing) a folder in it, so
    what is found is what the file system allows, whoever runs the process.
    """
    path = pathlib.Path(path).absolute()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is" if existing == path else f"is inside {existing}, which is"
        raise InputError(f"{flag} {str(path)!r}: {where} a file; expected a folder")
    try:
        tempfile.TemporaryDirectory(dir=existing, prefix=".zoo-probe-").cleanup()
    except OSError as error:
        raise InputError(f"{flag} {str(path)!r}: cannot write in {existing} ({error.strerror}); "
                         "expected a writable folder") from None
