"""Hostile command lines for every recipe and tool: out-of-range integers, infinite
floats, output folders that cannot be written, data that is no regular file, names
taken by another process or by a file. Each stops in one line with exit status 2 and
leaves no run folder; the races resolve to distinct names."""

import importlib
import os
import threading

import keras
import pytest

from zoo.data.corpus import load_corpus
from zoo.data.files import data_files
from zoo.data.text_pairs import read_pairs
from zoo.run.folders import create_run

RECIPES = ("char_lm", "classify", "seq2seq", "long_range", "tag")


@pytest.fixture(autouse=True)
def fresh_keras_session():
    """The shared reset without its garbage collection (about 0.5 s a test with
    TensorFlow loaded): every test here stops before a model is built."""
    keras.utils.clear_session(free_memory=False)
    yield


def fifo(folder, name="pipe"):
    os.mkfifo(folder / name)
    return str(folder / name)


def a_file(folder):
    (folder / "taken").write_text("")
    return str(folder / "taken")


# name -> (recipes it applies to, flags given the test's folder, what the line must say)
CASES = {
    "steps past int32": (RECIPES, lambda d: ["--steps", str(2**31)], "--steps must be >= 1 and <= 2147483647"),
    "seed past int32": (RECIPES, lambda d: ["--seed", str(10**20)], "--seed must be >= 0 and <= 2147483647"),
    "infinite learning rate": (RECIPES, lambda d: ["--lr", "inf"], "--lr must be a finite number, received inf"),
    "NaN clip norm": (RECIPES, lambda d: ["--clip-norm", "nan"], "--clip-norm must be a finite number"),
    "logdir that is a file": (RECIPES, lambda d: ["--logdir", a_file(d)], "is a file; expected a folder"),
    "export dir inside a file": (RECIPES, lambda d: ["--export-dir", a_file(d) + "/exports"],
                                 "is inside"),
    "data that is a FIFO": (("char_lm", "seq2seq"), lambda d: ["--data", fifo(d)],
                            "is a FIFO; expected a regular file"),
    "classify data that is a FIFO": (("classify",), lambda d: ["--data", fifo(d, "pipe.npz")],
                                     "is a FIFO; expected a regular file"),
    "data that is a device": (("char_lm", "seq2seq"), lambda d: ["--data", "/dev/zero"],
                              "is a device; expected a regular file"),
    "two billion validation sequences": (("long_range",), lambda d: ["--validation-examples", "2000000000"],
                                         "--validation-examples must be >= 1 and <= 1000000"),
    "validation sequences too many for the length": (
        ("long_range",), lambda d: ["--validation-examples", "1000000", "--lengths", "1000"],
        "expected at most 50000000"),
}


PARAMETERS = [(recipe, case) for case, (recipes, _, _) in sorted(CASES.items()) for recipe in recipes]


@pytest.mark.parametrize("recipe,case", PARAMETERS)
def test_a_hostile_flag_stops_in_one_line_and_writes_nothing(recipe, case, tmp_path, capsys):
    _, flags, message = CASES[case]
    argv = ["--smoke", "--logdir", str(tmp_path / "runs"), *flags(tmp_path)]
    with pytest.raises(SystemExit) as stopped:
        importlib.import_module(f"recipes.{recipe}").main(argv)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1, error
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv,message", [
    (["--length", str(10**9)], "--length must be >= 1 and <= 100000"),
    (["--seed", str(2**70)], "--seed must be >= 0"),
    (["--temperature", "inf"], "--temperature must be finite"),
])
def test_the_sampler_refuses_absurd_values_before_loading_anything(argv, message, tmp_path, capsys):
    from zoo.sample import main

    with pytest.raises(SystemExit) as stopped:
        main(["--from", str(tmp_path / "no-run"), *argv])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["--version", str(10**12)], "--version must be >= 1 and <= 2147483647"),
    (["--request-budget", "-1"], "--request-budget must be >= 0"),
])
def test_export_refuses_absurd_values(argv, message, tmp_path, capsys):
    from export.__main__ import main

    with pytest.raises(SystemExit) as stopped:
        main(["--from", str(tmp_path), *argv])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_an_export_dir_that_cannot_be_written_is_refused_before_the_run_is_read(tmp_path, capsys):
    from export.__main__ import main

    with pytest.raises(SystemExit) as stopped:
        main(["--from", str(tmp_path / "not-even-a-run"), "--export-dir", a_file(tmp_path)])
    assert stopped.value.code == 2
    assert "is a file; expected a folder" in capsys.readouterr().err


class Tiny:
    module = "recipes.tiny"

    def save_assets(self, assets, folder):
        (folder / "assets.json").write_text("{}")


def test_runs_created_at_the_same_instant_take_distinct_folders(tmp_path):
    from recipes.char_lm import CharLMConfig

    created, errors = [], []

    def create():
        try:
            created.append(create_run(tmp_path / "20260101-000000-char_lm", Tiny(), CharLMConfig(), None))
        except Exception as error:  # surfaced below
            errors.append(error)

    barrier = threading.Barrier(6)
    threads = [threading.Thread(target=lambda: (barrier.wait(), create())) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # All but the first may find the name taken before writing: those are told in one line.
    assert all("already exists" in str(error) for error in errors)
    assert len(set(created)) == len(created) >= 1
    assert all((run / "config.json").is_file() for run in created)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_version_name_taken_by_a_file_is_passed_over(tmp_path):
    from export.versions import write_version

    base = tmp_path / "model"
    base.mkdir()
    (base / "1").write_text("not a version")
    written = write_version(base, lambda folder: (folder.mkdir(), (folder / "saved_model.pb").write_text("")))
    assert written == base / "2"
    (tmp_path / "file_model").write_text("")
    with pytest.raises(Exception, match="a file; expected the model's folder of versions"):
        write_version(tmp_path / "file_model", lambda folder: folder.mkdir())


def test_a_byte_order_mark_is_no_character_of_the_data(tmp_path):
    (tmp_path / "corpus.txt").write_bytes("\ufeffHello".encode())
    assert load_corpus(str(tmp_path / "corpus.txt")) == "Hello"
    (tmp_path / "pairs.tsv").write_bytes("\ufeffab\tcd\nef\tgh\n".encode())
    assert read_pairs(str(tmp_path / "pairs.tsv"), "char", 10, 10)[0] == ("ab", "cd")


def test_a_symlink_loop_is_walked_once(tmp_path):
    (tmp_path / "data" / "deeper").mkdir(parents=True)
    (tmp_path / "data" / "deeper" / "text.txt").write_text("once")
    (tmp_path / "data" / "deeper" / "loop").symlink_to(tmp_path / "data")
    pattern = str(tmp_path / "data" / "**" / "*.txt")
    assert data_files(pattern) == [tmp_path / "data" / "deeper" / "text.txt"]
    assert load_corpus(pattern) == "once"
    assert load_corpus(str(tmp_path / "data")) == "once"
