"""The one place data files are read: which files a `--data` value names, their bytes,
their text and their arrays. Nothing here executes or unpickles what it reads.

    a file                 itself; a FIFO, a device or a socket is refused (reading one
                           blocks forever or never ends)
    a folder               every regular, non-hidden file below it, in sorted path order
    a glob                 every regular file matching it (`*`, `?`, `[`, `**`), sorted

A file reached twice (through a symlink, or a `**` pattern walking a symlink loop) is
read once, under its shortest name. Text is UTF-8; a byte-order mark at its start is dropped
(it is no character of the text), and a NUL byte marks a file as binary.
"""

import glob
import os
import pathlib
import stat

import numpy as np

from zoo.run.errors import InputError

GLOB_CHARACTERS = set("*?[")
BYTE_ORDER_MARK = "\ufeff"
PADDED_ARRAYS = "x float [n, time, features] padded with lengths int [n], and y [n]"


def data_files(source, flag="--data"):
    """The files `source` names (see the module docstring); InputError where there is none."""
    path = pathlib.Path(source)
    if GLOB_CHARACTERS & set(source):
        files = _once([pathlib.Path(p) for p in sorted(glob.glob(source, recursive=True))])
        if not files:
            raise InputError(f"{flag} {source!r}: the pattern matches no file")
        return files
    if path.is_dir():
        files = _once(sorted(f for f in path.rglob("*")
                             if not any(part.startswith(".") for part in f.relative_to(path).parts)))
        if not files:
            raise InputError(f"{flag} {source!r}: the folder holds no file")
        return files
    if not path.exists():
        raise InputError(f"{flag} {source!r}: no such file or folder")
    check_regular(path, flag)
    return [path]


def _once(paths):
    """The regular files among `paths`, each real file once (by its shortest spelling),
    in sorted order."""
    shortest = {}
    for path in sorted(paths, key=lambda p: (len(p.parts), str(p))):
        if path.is_file():
            shortest.setdefault(os.path.realpath(path), path)
    return sorted(shortest.values())


def check_regular(path, flag="--data"):
    """InputError unless `path` is a regular file (checked without opening it)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise InputError(f"{flag}: cannot read {str(path)!r}: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a folder" if stat.S_ISDIR(mode) else "not a file")
        raise InputError(f"{flag}: {str(path)!r} is {kind}; expected a regular file")


def read_data_bytes(path, flag="--data"):
    """The bytes of the regular file `path`; InputError naming it when it cannot be read."""
    check_regular(path, flag)
    try:
        return pathlib.Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"{flag}: cannot read {str(path)!r}: {error.strerror}") from None


def without_byte_order_mark(text):
    return text[1:] if text.startswith(BYTE_ORDER_MARK) else text


def read_data_text(path, flag="--data"):
    """The UTF-8 text of `path`, without a leading byte-order mark; InputError naming the
    file when it looks binary or is not UTF-8."""
    data = read_data_bytes(path, flag)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(f"{flag}: {str(path)!r} looks binary (NUL byte at offset {nul}); expected UTF-8 text")
    try:
        return without_byte_order_mark(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(f"{flag}: {str(path)!r} is not UTF-8 (undecodable byte at offset "
                         f"{error.start}); expected UTF-8 text") from None


def read_arrays(path, flag="--data"):
    """{name: array} of an .npz file, read without pickle: an object array (which only
    pickle can hold, and whose loading can run code) is refused, naming the padded form."""
    check_regular(path, flag)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise InputError(f"{path}: holds an object array, which needs pickle (refused: loading "
                             f"one can run code); expected {PADDED_ARRAYS}") from None
        raise InputError(f"{path}: not a readable .npz ({error}); expected {PADDED_ARRAYS}") from None
    except Exception as error:  # zipfile, OSError, EOFError: a damaged archive
        raise InputError(f"{path}: not a readable .npz ({type(error).__name__}); expected {PADDED_ARRAYS}") from None
