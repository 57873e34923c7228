"""Reliability of the char_lm job: kill and resume, clean stops, NaN faults, bad input
that leaves the disk as it was, concurrent serving clients."""

import hashlib
import pathlib
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import tensorflow as tf
from char_lm_runs import restore_model, smoke_config, train_char_lm
from event_files import load_events, scalar_series
from run_folders import checkpoint_steps, has_checkpoint, only_run, wait_for
from served_state import state_sizes

from recipes import char_lm
from recipes.char_lm import main
from zoo.data.tokens import MAX_CHARACTERS
from zoo.training.loop import TrainingDiverged
from zoo.training.tbptt import TBPTTRule

STEPS = 30  # SMOKE checkpoints every 10 steps


def run_cli(*argv, **popen):
    return subprocess.Popen([sys.executable, "-m", "recipes.char_lm", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


@pytest.fixture(scope="module")
def uninterrupted(smoke_run):
    """The session's smoke run (STEPS steps): its validations (every 15 steps rather than
    SMOKE's 20) run on the inference twin and change no loss or weight of training."""
    assert smoke_run["steps"] == STEPS
    losses = scalar_series(load_events(smoke_run["run_dir"]), "train/loss")
    return losses, [w.numpy() for w in restore_model(smoke_run["run_dir"])[2].weights]


def assert_same_run(run_dir, uninterrupted):
    losses, weights = uninterrupted
    resumed = scalar_series(load_events(run_dir), "train/loss")  # raises on duplicate steps
    assert sorted(resumed) == list(range(1, STEPS + 1))
    np.testing.assert_allclose([resumed[s] for s in sorted(resumed)],
                               [losses[s] for s in sorted(losses)], rtol=1e-5)
    for a, b in zip(restore_model(run_dir)[2].weights, weights):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-5, atol=1e-6)


# A real process killed and resumed (20-45 s each): slow; the old-run tests resume by default.
@pytest.mark.slow
@pytest.mark.parametrize("kill_after_checkpoint,corrupt_newest", [(10, False), (20, False), (20, True)])
def test_sigkill_then_resume_matches_an_uninterrupted_run(
        tmp_path, uninterrupted, kill_after_checkpoint, corrupt_newest):
    logdir = tmp_path / "runs"
    process = run_cli("--smoke", "--steps", str(STEPS), "--logdir", str(logdir))
    wait_for(lambda: has_checkpoint(logdir, kill_after_checkpoint))
    process.kill()  # SIGKILL: no handler runs
    process.wait()
    run_dir = only_run(logdir)
    saved = checkpoint_steps(run_dir)
    assert saved and max(saved) < STEPS
    if corrupt_newest:
        # What a kill in the middle of writing the newest checkpoint could leave.
        newest = sorted((run_dir / "checkpoints").glob(f"ckpt-{max(saved)}.data-*"))[0]
        newest.write_bytes(newest.read_bytes()[:100])
    resumed = run_cli("--resume", str(run_dir))
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output[-3000:]
    if corrupt_newest:
        assert f"ckpt-{max(saved)} is unreadable" in output
    assert_same_run(run_dir, uninterrupted)


@pytest.mark.slow  # a subprocess run, about 15 s
def test_sigterm_stops_cleanly_with_a_checkpoint_and_says_how_to_resume(tmp_path, uninterrupted):
    logdir = tmp_path / "runs"
    process = run_cli("--smoke", "--steps", str(STEPS), "--logdir", str(logdir))
    wait_for(lambda: has_checkpoint(logdir, 10))
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    run_dir = only_run(logdir)
    if process.returncode == 0 and "stopped by SIGTERM" not in output:
        pytest.skip("the run finished before the signal arrived")
    assert process.returncode == 0, output[-2000:]
    assert "stopped by SIGTERM after step" in output
    assert f"--resume {run_dir}" in output
    stopped_at = int(output.split("stopped by SIGTERM after step ")[1].split(";")[0])
    assert max(checkpoint_steps(run_dir)) == stopped_at
    resumed = run_cli("--resume", str(run_dir))
    assert resumed.wait(timeout=300) == 0
    assert_same_run(run_dir, uninterrupted)


class PoisonedTrainer(TBPTTRule):
    """Makes one embedding row NaN during chosen updates (a poisoned batch)."""

    poisoned_updates = ()
    calls = 0

    def train_step(self, inputs, targets):
        PoisonedTrainer.calls += 1
        if PoisonedTrainer.calls not in self.poisoned_updates:
            return super().train_step(inputs, targets)
        embedding = self.model.get_layer("embedding").embeddings
        clean = embedding.numpy()
        poisoned = clean.copy()
        poisoned[int(inputs[0, 0])] = np.nan
        embedding.assign(poisoned)
        try:
            return super().train_step(inputs, targets)
        finally:
            embedding.assign(clean)


def train_with_poison(monkeypatch, tmp_path, poisoned_updates, **changes):
    monkeypatch.setattr(PoisonedTrainer, "poisoned_updates", poisoned_updates)
    monkeypatch.setattr(PoisonedTrainer, "calls", 0)
    monkeypatch.setattr(char_lm, "TBPTTRule", PoisonedTrainer)
    return train_char_lm(smoke_config(tmp_path, steps=20, **changes))


def test_a_nan_step_is_skipped_and_the_run_recovers(monkeypatch, tmp_path, capsys):
    result = train_with_poison(monkeypatch, tmp_path, poisoned_updates={7})
    assert "step 7: non-finite loss or gradient; update skipped" in capsys.readouterr().out
    events = load_events(result["run_dir"])
    assert scalar_series(events, "train/skipped_update") == {7: 1.0}
    losses = scalar_series(events, "train/loss")
    assert 7 not in losses and sorted(losses) == [s for s in range(1, 21) if s != 7]
    assert all(np.isfinite(list(losses.values())))
    assert np.isfinite(result["valid/loss"])


def test_a_nan_last_step_still_ends_the_run_with_its_checkpoint_and_export(monkeypatch, tmp_path):
    result = train_with_poison(monkeypatch, tmp_path, poisoned_updates={20})
    run_dir = result["run_dir"]
    assert result["steps"] == 20 and not result["stopped"]
    assert max(checkpoint_steps(run_dir)) == 20
    events = load_events(run_dir)
    assert scalar_series(events, "train/skipped_update") == {20: 1.0}
    assert sorted(scalar_series(events, "valid/loss")) == [20]
    assert max(scalar_series(events, "train/loss")) == 19  # no step past --steps
    assert PoisonedTrainer.calls == 20


def test_consecutive_nan_steps_stop_the_run_at_a_checkpoint_before_the_fault(monkeypatch, tmp_path):
    with pytest.raises(TrainingDiverged, match=r"step 16: 3 consecutive non-finite updates.*ckpt-10.*--lr"):
        train_with_poison(monkeypatch, tmp_path, poisoned_updates={14, 15, 16}, max_bad_steps=3)
    run_dir = only_run(tmp_path)
    assert checkpoint_steps(run_dir) == [10]
    assert all(np.isfinite(w.numpy()).all() for w in restore_model(run_dir)[2].weights)


def snapshot(folder):
    """Every file under `folder` with its size and content hash."""
    return {str(p.relative_to(folder)): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("finished")
    corpus = folder / "corpus.txt"
    corpus.write_text("abcdefghij klmnopqrst uvwxyz. " * 400)
    return train_char_lm(smoke_config(folder / "runs", steps=10, data=str(corpus)))


def write(path, data):
    path.write_bytes(data)
    return str(path)


BAD_INPUTS = {
    "flag out of range": (lambda d, run: ["--k1", "0"], "--k1 must be >= 1"),
    "zero units": (lambda d, run: ["--units", "0"], "--units must be >= 1"),
    "negative batch size": (lambda d, run: ["--batch-size", "-4"], "--batch-size must be >= 1"),
    "zero learning rate": (lambda d, run: ["--lr", "0"], "--lr must be > 0"),
    "dropout of one": (lambda d, run: ["--dropout", "1.0"], "--dropout must be >= 0.0 and < 1.0"),
    "units not a number": (lambda d, run: ["--units", "many"], "argument --units: invalid int value"),
    "unknown cell": (lambda d, run: ["--cell", "transformer"], "argument --cell: invalid choice"),
    "resume a missing folder": (lambda d, run: ["--resume", str(d / "nowhere")], "no such run folder"),
    "flag of the wrong type": (lambda d, run: ["--lr", "fast"], "argument --lr: invalid float value"),
    "unknown flag": (lambda d, run: ["--colour", "red"], "unrecognized arguments: --colour"),
    "k2 below k1": (lambda d, run: ["--k1", "30", "--k2", "20"], "--k2 must be >= --k1"),
    "missing corpus": (lambda d, run: ["--data", str(d / "none.txt")], "no such file"),
    "unreadable corpus": (lambda d, run: ["--data", "/proc/self/mem"], "cannot read '/proc/self/mem'"),
    "empty corpus": (lambda d, run: ["--data", write(d / "empty.txt", b"")], "is empty"),
    "binary corpus": (lambda d, run: ["--data", write(d / "a.bin", b"\x89PNG\r\n\x1a\n\x00\x00")],
                      "looks binary"),
    "undecodable corpus": (lambda d, run: ["--data", write(d / "l1.txt", b"na\xefve " * 500)],
                           "not UTF-8 (undecodable byte at offset 2)"),
    "corpus shorter than one batch": (lambda d, run: ["--data", write(d / "s.txt", b"short")],
                                      "fewer than one batch"),
    "vocabulary over the limit": (
        lambda d, run: ["--data", write(d / "cjk.txt", "".join(
            chr(0x4E00 + i) for i in range(MAX_CHARACTERS + 1)).encode() * 2)],
        "more than the vocabulary limit"),
    "resume a folder that is no run": (lambda d, run: ["--resume", str(d)], "no config.json"),
    "resume with other flags": (lambda d, run: ["--resume", str(run), "--units", "64"],
                                "only --steps, --strategy, --devices and --schedule may be given"),
    "resume after the corpus changed": (lambda d, run: change_corpus_then_resume(run),
                                        "vocabulary differs"),
    "resume with an edited config": (lambda d, run: edit_config_then_resume(run, units=48),
                                     "config.json: units is 48, but"),
    "resume with an edited dropout": (lambda d, run: edit_config_then_resume(run, dropout=0.3),
                                      "config.json: dropout is 0.3, but"),
    "resume with an edited k1": (lambda d, run: edit_config_then_resume(run, k1=7),
                                 "config.json: k1 is 7, but"),
    "steps beyond int32": (lambda d, run: ["--steps", str(2**31)], "--steps must be >= 1 and <= 2147483647"),
    "seed beyond int32": (lambda d, run: ["--seed", str(10**20)], "--seed must be >= 0 and <= 2147483647"),
    "infinite learning rate": (lambda d, run: ["--lr", "inf"], "--lr must be a finite number"),
    "logdir that is a file": (lambda d, run: ["--data", write(d / "c.txt", b"abc " * 3000), "--logdir",
                                              write(d / "taken", b"")], "is a file; expected a folder"),
    "export dir inside a file": (lambda d, run: ["--export-dir", write(d / "taken", b"") + "/export"],
                                 "is inside"),
    "data that is a FIFO": (lambda d, run: ["--data", fifo(d / "pipe")], "is a FIFO; expected a regular file"),
    "data that is a device": (lambda d, run: ["--data", "/dev/zero"], "is a device; expected a regular file"),
}


def fifo(path):
    import os
    os.mkfifo(path)
    return str(path)


def change_corpus_then_resume(run):
    corpus = pathlib.Path(run_config(run)["data"])
    CHANGED.append((corpus, corpus.read_bytes()))  # put back after the test
    corpus.write_text("completely new text!" * 500)
    return ["--resume", str(run)]


CHANGED = []


def edit_config_then_resume(run, **changes):
    edit_config(run, **changes)
    return ["--resume", str(run)]


def run_config(run):
    import json
    return json.loads((run / "config.json").read_text())


def edit_config(run, **changes):
    import json
    (run / "config.json").write_text(json.dumps({**run_config(run), **changes}))


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_named_and_leaves_the_disk_as_it_was(case, tmp_path, finished_run, capsys):
    import shutil

    run = tmp_path / "existing-run"
    shutil.copytree(finished_run["run_dir"], run)
    make_argv, message = BAD_INPUTS[case]
    try:
        argv = make_argv(tmp_path, run)
        check_refused(argv, message, tmp_path, capsys)
    finally:
        for path, data in CHANGED:
            path.write_bytes(data)
        CHANGED.clear()


def check_refused(argv, message, tmp_path, capsys):
    if "--resume" not in argv:
        argv = ["--logdir", str(tmp_path / "runs"), *argv]
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert message in error, error
    assert error.count("\n") == 1 and "Traceback" not in error
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "runs").exists()


def test_export_of_a_folder_that_is_no_run_is_refused(tmp_path, capsys):
    from export.__main__ import main as export_main

    with pytest.raises(SystemExit) as exit_info:
        export_main(["--from", str(tmp_path), "--export-dir", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "no config.json" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_concurrent_clients_get_exactly_their_solo_answers(smoke_run, tmp_path):
    from export.saved_model import export_run

    folder = export_run(smoke_run["run_dir"], tmp_path)
    served = tf.saved_model.load(str(folder))
    generate, step = served.signatures["generate"], served.signatures["step"]
    sizes = state_sizes(folder)
    names = list(sizes)

    def client(seed):
        text = generate(prompt=tf.constant([f"Client {seed} says "]), max_length=tf.constant(40),
                        temperature=tf.constant(1.0), top_k=tf.constant(0),
                        top_p=tf.constant(1.0), seed=tf.constant(seed, tf.int64))["text"].numpy()[0]
        state = {k: tf.fill([1, sizes[k]], 0.1 * seed) for k in names}
        logits = []
        for token in range(1, 9):
            out = step(token_ids=tf.constant([[token + seed]]), **state)
            state = {k: out[k] for k in names}
            logits.append(out["logits"].numpy())
        return text, np.concatenate(logits)

    solo = {seed: client(seed) for seed in range(8)}
    together, errors = {}, []

    def run(seed):
        try:
            for _ in range(3):
                together.setdefault(seed, []).append(client(seed))
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for seed, answers in together.items():
        for text, logits in answers:
            assert text == solo[seed][0]
            np.testing.assert_array_equal(logits, solo[seed][1])
