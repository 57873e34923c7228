"""Read a corpus as one string from a file, a folder, a glob, TFDS, or the built-in default.

Sources (the `--data` flag):
    ""  or "default"   the built-in corpus: the Python documentation's topic pages that
                       ship inside every CPython (`pydoc_data.topics`, ~465k characters of
                       English prose on CPython 3.11), joined in sorted key order; present
                       without a network and the same on every machine with that Python.
    PATH               one UTF-8 text file.
    FOLDER             every regular, non-hidden file below it, in sorted path order.
    GLOB               every file matching it (`*`, `?`, `[`), in sorted order.
    tfds:NAME          the `text` feature of every example of TensorFlow Datasets' NAME
                       (e.g. `tfds:tiny_shakespeare`), `train` split; `tfds:NAME/SPLIT`
                       picks another split.

Undecodable bytes are rejected, not replaced: the error names the file and the byte
offset, so a corpus never trains silently on U+FFFD. A NUL byte marks a file as binary.
"""

import glob
import pathlib

from zoo.run.errors import InputError

DEFAULT_CORPUS = "default"
GLOB_CHARACTERS = set("*?[")


def load_corpus(source):
    """The corpus text named by `source` (see the module docstring)."""
    if source in ("", DEFAULT_CORPUS):
        return _python_documentation()
    if source.startswith("tfds:"):
        return _tfds_text(source)
    return "\n".join(_decode(path) for path in data_files(source))


def split_corpus(text, validation_fraction):
    """(train, validation): the last `validation_fraction` of the characters validates.

    A fixed cut, not a random one, so every run of a corpus sees the same split and the
    validation text is contiguous (stateful evaluation needs unbroken streams).
    """
    cut = len(text) - int(round(len(text) * validation_fraction))
    return text[:cut], text[cut:]


def _python_documentation():
    try:
        from pydoc_data.topics import topics
    except ImportError as error:
        raise InputError("the default corpus needs the standard library's pydoc_data "
                         "module, which this Python lacks; pass --data PATH") from error
    return "\n\n".join(topics[key] for key in sorted(topics))


def _tfds_text(source):
    import tensorflow_datasets as tfds

    name, _, split = source[len("tfds:"):].partition("/")
    if not name:
        raise InputError(f"--data {source!r}: expected tfds:NAME or tfds:NAME/SPLIT")
    try:
        examples = tfds.load(name, split=split or "train", download=False)
    except Exception as error:  # TFDS raises many types for a missing or unknown set.
        raise InputError(f"--data {source!r}: TensorFlow Datasets could not load it offline "
                         f"({type(error).__name__}: {str(error).splitlines()[0]})") from error
    texts = [example["text"].numpy().decode("utf-8") for example in examples]
    if not texts:
        raise InputError(f"--data {source!r}: the split has no examples")
    return "\n".join(texts)


def data_files(source):
    """The files `source` names: a file, every non-hidden file below a folder (sorted), or a
    glob's matches (sorted); InputError where there is none."""
    path = pathlib.Path(source)
    if GLOB_CHARACTERS & set(source):
        files = [pathlib.Path(p) for p in sorted(glob.glob(source, recursive=True))]
        files = [f for f in files if f.is_file()]
        if not files:
            raise InputError(f"--data {source!r}: the pattern matches no file")
        return files
    if path.is_dir():
        files = sorted(f for f in path.rglob("*")
                       if f.is_file() and not any(part.startswith(".")
                                                  for part in f.relative_to(path).parts))
        if not files:
            raise InputError(f"--data {source!r}: the folder holds no file")
        return files
    if not path.exists():
        raise InputError(f"--data {source!r}: no such file or folder")
    return [path]


def _decode(path):
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"--data: cannot read {str(path)!r}: {error.strerror}") from error
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(f"--data: {str(path)!r} looks binary (NUL byte at offset {nul}); "
                         "expected UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"--data: {str(path)!r} is not UTF-8 (undecodable byte at offset "
                         f"{error.start}); expected UTF-8 text") from error
