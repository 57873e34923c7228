"""Read a corpus as one string from a file, a folder, a glob, TFDS, or the built-in default.

Sources (the `--data` flag):
    ""  or "default"   the built-in corpus: the Python documentation's topic pages that
                       ship inside every CPython (`pydoc_data.topics`, ~465k characters of
                       English prose on CPython 3.11), joined in sorted key order; present
                       without a network and the same on every machine with that Python.
    PATH, FOLDER, GLOB UTF-8 text files, named and read as `zoo.data.files` says.
    tfds:NAME          the `text` feature of every example of TensorFlow Datasets' NAME
                       (e.g. `tfds:tiny_shakespeare`), `train` split; `tfds:NAME/SPLIT`
                       picks another split.

Undecodable bytes are rejected, not replaced: the error names the file and the byte
offset, so a corpus never trains silently on U+FFFD.
"""

from zoo.data.files import data_files, read_data_text
from zoo.run.errors import InputError

DEFAULT_CORPUS = "default"


def load_corpus(source):
    """The corpus text named by `source` (see the module docstring)."""
    if source in ("", DEFAULT_CORPUS):
        return _python_documentation()
    if source.startswith("tfds:"):
        return _tfds_text(source)
    return "\n".join(read_data_text(path) for path in data_files(source))


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
