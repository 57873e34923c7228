"""Labelled sequences for many-to-one classification: read, checked, split, padded.

Sources (`--data`, with `--test-data` for the test set):
    ""  or "default"   JapaneseVowels (Kudo et al. 1999, UCI; the UEA archive's copy):
                       9 speakers, 12 LPC cepstrum coefficients per step, 7 to 29 steps,
                       the official 270 training and 370 test utterances, read from the
                       copy inside `sktime`'s wheel (the `timeseries` extra).
    PATH.ts            a UEA/UCR time-series file with class labels, parsed by sktime;
                       its test file is `--test-data`, or the `_TEST.ts` beside a `_TRAIN.ts`.
    PATH.npz           arrays `x` [n, time, features] (padded), `lengths` [n] (steps of
                       each; default all) and `y` [n]; read without pickle, so an object
                       array (ragged `x`) is refused (`zoo.data.files.read_arrays`).
    FOLDER             text: one subfolder per class holding one text per file (the layout
                       of `keras.utils.text_dataset_from_directory`).
    PATH.tsv           text: one `label<TAB>text` per line.

Without a test file, a stratified share of the examples (seeded) is held out as the test
set. Every check names the file and the case: ragged feature counts, a non-finite value,
an empty sequence, a class with no training example, a test label unknown to training.
"""

import dataclasses
import pathlib

import numpy as np

from zoo.data.files import (
    PADDED_ARRAYS,
    check_regular,
    data_files,
    read_arrays,
    read_data_bytes,
    without_byte_order_mark,
)
from zoo.run.errors import InputError

DEFAULT_DATA = "default"
TIMESERIES_EXTRA = 'pip install -e ".[timeseries]"'
# Share of the examples held out as the test set when no test file is given.
TEST_SHARE = 0.2


@dataclasses.dataclass
class Examples:
    """One split: sequences ([time, features] float32 arrays, or token texts), class ids."""
    sequences: list
    labels: np.ndarray
    source: str

    def subset(self, rows):
        return Examples([self.sequences[i] for i in rows], self.labels[rows], self.source)


@dataclasses.dataclass
class LabelledData:
    """Training and test examples with their class names (ids index `class_names`)."""
    train: Examples
    test: Examples
    class_names: list
    kind: str  # "sequences" or "text"


def load_labelled(source, test_source="", seed=0):
    """The `LabelledData` named by `source` (see the module docstring); InputError on bad input."""
    if source in ("", DEFAULT_DATA):
        return _japanese_vowels()
    path = pathlib.Path(source)
    if not path.exists():
        raise InputError(f"{source}: no such file or folder; expected a .ts, .npz or .tsv file "
                         "or a folder with one subfolder per class")
    kind = _kind_of(path)
    train = _read_checked(path, kind)
    test_path = _test_path(path, test_source)
    names = sorted(set(train[1]) | set(declared_classes(path)))
    if test_path is None:
        examples = Examples(train[0], _ids(train[1], names), str(path))
        train_rows, test_rows = stratified_split(examples.labels, TEST_SHARE, seed)
        return _with_every_class(examples.subset(train_rows), examples.subset(test_rows), names, kind)
    test = _read_checked(test_path, kind)
    unknown = sorted(set(test[1]) - set(names), key=str)
    if unknown:
        raise InputError(f"{test_path}: test labels {', '.join(map(str, unknown[:5]))} have no "
                         f"training example in {path}; expected labels among {', '.join(map(str, names))}")
    return _with_every_class(Examples(train[0], _ids(train[1], names), str(path)),
                             Examples(test[0], _ids(test[1], names), str(test_path)), names, kind)


def _ids(labels, names):
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[label] for label in labels], dtype=np.int64)


def _kind_of(path):
    return "text" if path.is_dir() or path.suffix == ".tsv" else "sequences"


def _reader_of(path):
    if path.is_dir():
        return read_class_folders
    readers = {".ts": read_ts, ".npz": read_npz, ".tsv": read_tsv}
    if path.suffix not in readers:
        raise InputError(f"{path}: unknown format {path.suffix or '(no suffix)'}; expected .ts, .npz, "
                         ".tsv or a folder with one subfolder per class")
    return readers[path.suffix]


def _test_path(path, test_source):
    if test_source:
        test_path = pathlib.Path(test_source)
        if not test_path.exists():
            raise InputError(f"{test_source}: no such file or folder (--test-data)")
        if _kind_of(test_path) != _kind_of(path) or (path.is_file() and test_path.suffix != path.suffix):
            raise InputError(f"{test_source}: --test-data must have the format of --data ({path})")
        return test_path
    if path.name.endswith("_TRAIN.ts"):
        sibling = path.with_name(path.name[:-len("_TRAIN.ts")] + "_TEST.ts")
        return sibling if sibling.exists() else None
    return None


def _read_checked(path, kind):
    """(sequences or texts, labels) of one file, every example checked (indices as in the file)."""
    if not path.is_dir():
        check_regular(path)
    sequences, labels = _reader_of(path)(path)
    if kind == "sequences":
        check_sequences(Examples(sequences, labels, str(path)))
    else:
        empty = [i for i, text in enumerate(sequences) if not text.strip()]
        if empty:
            raise InputError(f"{path}: example {empty[0]} is an empty text; expected at least one token")
    return sequences, labels


def _with_every_class(train, test, class_names, kind):
    counts = np.bincount(train.labels, minlength=len(class_names))
    if not counts.all():
        missing = class_names[int(np.argmin(counts))]
        raise InputError(f"{train.source}: class {missing!r} has no training example; expected at "
                         "least one example of every class")
    broken = [name for name in class_names if "\n" in str(name) or "\r" in str(name) or not str(name).strip()]
    if broken:
        raise InputError(f"{train.source}: class label {broken[0]!r} is empty or spans lines; expected "
                         "one-line labels")
    if len(class_names) < 2:
        raise InputError(f"{train.source}: one class only ({class_names[0]!r}); expected at least two")
    return LabelledData(train, test, [str(name) for name in class_names], kind)


def check_sequences(examples):
    """InputError naming `examples.source` and the first bad sequence: ragged features,
    a non-finite value or no steps."""
    widths = set()
    for index, sequence in enumerate(examples.sequences):
        if sequence.ndim != 2:
            raise InputError(f"{examples.source}: sequence {index} has shape {sequence.shape}; "
                             "expected [time, features]")
        if len(sequence) == 0:
            raise InputError(f"{examples.source}: sequence {index} is empty; expected at least one step")
        if not np.isfinite(sequence).all():
            raise InputError(f"{examples.source}: sequence {index} has a NaN or infinite value; "
                             "expected finite features")
        widths.add(sequence.shape[1])
        if len(widths) > 1:
            raise InputError(f"{examples.source}: sequence {index} has {sequence.shape[1]} features, "
                             f"earlier ones {min(widths - {sequence.shape[1]})}; expected one "
                             "feature count for every sequence")


def stratified_split(labels, share, seed):
    """(kept rows, held-out rows): about `share` of each class's rows held out (at least one
    where the class has two or more), drawn from `seed`; both sorted.

    Written here rather than taken from scikit-learn, which the base install lacks.
    """
    rng = np.random.default_rng(seed)
    held = []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        count = min(len(rows) - 1, max(1, int(round(share * len(rows)))))
        held.extend(rows[:count])
    held = np.sort(np.asarray(held, dtype=int))
    return np.setdiff1d(np.arange(len(labels)), held), held


def pad(sequences, steps=None):
    """(padded [n, steps, features] float32, lengths [n] int32); `steps` None: the longest."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int32)
    steps = steps or int(lengths.max())
    padded = np.zeros((len(sequences), steps, sequences[0].shape[1]), np.float32)
    for row, sequence in enumerate(sequences):
        padded[row, :len(sequence)] = sequence
    return padded, lengths


def feature_statistics(sequences):
    """(mean, variance) per feature over every step of `sequences` (float64 lists)."""
    steps = np.concatenate(sequences).astype(np.float64)
    return steps.mean(axis=0).tolist(), np.maximum(steps.var(axis=0), 1e-12).tolist()


def declared_classes(path):
    """The class labels a .ts file's header declares (`@classLabel true a b c`), else []."""
    if path.suffix != ".ts":
        return []
    with open(path, "rb") as lines:
        for raw in lines:
            words = raw.decode("utf-8", "replace").split()
            if words and words[0].lower() == "@classlabel":
                return words[2:] if len(words) > 2 and words[1].lower() == "true" else []
            if words and words[0].lower() == "@data":
                return []
    return []


# --- readers: (sequences or texts, labels as read) ---

def _sktime():
    try:
        import sktime.datasets
    except ImportError:
        raise InputError("time-series data is read with sktime, which is not installed; "
                         f"install the extra: {TIMESERIES_EXTRA}") from None
    return sktime.datasets


def _japanese_vowels():
    folder = pathlib.Path(_sktime().__file__).parent / "data" / "JapaneseVowels"
    return load_labelled(str(folder / "JapaneseVowels_TRAIN.ts"))


def read_ts(path):
    """A UEA/UCR .ts file with class labels, parsed by sktime."""
    datasets = _sktime()
    try:
        table, labels = datasets.load_from_tsfile(str(path), return_data_type="nested_univ")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: undecodable bytes at offset {error.start}; expected a UTF-8 .ts file") from None
    except Exception as error:  # sktime raises IOError and its own parse errors
        reason = " ".join(str(error).split()) or type(error).__name__
        raise InputError(f"{path}: {reason}; expected a UEA/UCR .ts file with class labels") from None
    sequences = [np.stack([np.asarray(cell, np.float32) for cell in row], axis=1)
                 for row in table.itertuples(index=False)]
    return sequences, [str(label) for label in labels]


def read_npz(path):
    """An .npz with `x` and `y` (see the module docstring), read without pickle."""
    arrays = read_arrays(path)
    if "x" not in arrays or "y" not in arrays:
        raise InputError(f"{path}: arrays {sorted(arrays)}; expected {PADDED_ARRAYS}")
    x, y = arrays["x"], arrays["y"]
    if x.ndim != 3 or not np.issubdtype(x.dtype, np.number):
        raise InputError(f"{path}: x is {x.dtype} of shape {list(x.shape)}; expected {PADDED_ARRAYS}")
    lengths = arrays.get("lengths", np.full(len(x), x.shape[1]))
    if lengths.shape != (len(x),) or not np.issubdtype(lengths.dtype, np.integer):
        raise InputError(f"{path}: lengths is {lengths.dtype} of shape {list(lengths.shape)}; expected "
                         f"one integer per sequence of x ({len(x)})")
    if len(x) and (lengths.min() < 0 or lengths.max() > x.shape[1]):
        raise InputError(f"{path}: lengths run from {lengths.min()} to {lengths.max()}; expected 0 to "
                         f"the time axis of x ({x.shape[1]})")
    if y.ndim != 1 or y.dtype.kind not in "iubUS":
        raise InputError(f"{path}: y is {y.dtype} of shape {list(y.shape)}; expected one integer or "
                         "string label per sequence")
    sequences = [np.asarray(row[:int(length)], np.float32) for row, length in zip(x, lengths)]
    if len(sequences) != len(y):
        raise InputError(f"{path}: {len(sequences)} sequences but {len(y)} labels; expected one label each")
    return sequences, [label.item() for label in y]


def _decoded(raw, where):
    if b"\0" in raw:
        raise InputError(f"{where}: a NUL byte, the file looks binary; expected UTF-8 text")
    try:
        return without_byte_order_mark(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(f"{where}: undecodable bytes at offset {error.start}; expected UTF-8 text") from None


def read_tsv(path):
    """`label<TAB>text` per line; blank lines are skipped."""
    texts, labels = [], []
    for number, line in enumerate(_decoded(read_data_bytes(path), path).splitlines(), 1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise InputError(f"{path}:{number}: no tab; expected label<TAB>text")
        label, text = line.split("\t", 1)
        if not label.strip() or not text.strip():
            raise InputError(f"{path}:{number}: an empty {'label' if not label.strip() else 'text'}; "
                             "expected label<TAB>text, both non-empty")
        texts.append(text)
        labels.append(label.strip())
    if not texts:
        raise InputError(f"{path}: no examples; expected label<TAB>text lines")
    return texts, labels


def read_class_folders(folder):
    """One subfolder per class, one text per `.txt` file (as text_dataset_from_directory
    reads them), in name order."""
    folder = pathlib.Path(folder)
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise InputError(f"{folder}: no class subfolders; expected one subfolder per class")
    texts, labels = [], []
    for class_folder in classes:
        try:
            files = [p for p in data_files(str(class_folder)) if p.suffix == ".txt"]
        except InputError:  # no file at all
            files = []
        if not files:
            raise InputError(f"{class_folder}: class {class_folder.name!r} has no example; expected "
                             "at least one .txt file")
        for file in files:
            texts.append(_decoded(read_data_bytes(file), file))
            labels.append(class_folder.name)
    return texts, labels
