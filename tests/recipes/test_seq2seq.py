"""`python -m recipes.seq2seq`: the smoke run trains, scores and logs what the README
promises; the exported `translate` gives the Python model's decodes without the project,
and `encode` + `decode_step` driven by a client give `translate`'s greedy decode; runs on
--data pair files; resume after SIGKILL with the same losses; the bad-input table."""

import json
import re

import numpy as np
import pytest
import tensorflow as tf
from event_files import load_events, scalar_series
from isolated import run_without_project
from run_folders import killed_then_resumed, only_run
from seq2seq_pairs import word_pairs

from recipes.seq2seq import SMOKE, TASK, Seq2SeqConfig, main
from zoo.data.dates import LOCALES
from zoo.data.tokens import END, PAD, PAD_UNKNOWN_START_END, SPECIAL_TOKENS, START, decode, encode
from zoo.run.folders import restore_run
from zoo.training.loop import train_and_evaluate

SOURCES = ["fr_FR | 23 novembre 2026", "ar_EG | ٢٣‏/١١‏/٢٠٢٦", "xx | unseen ✓"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("seq2seq")
    main(["--smoke", "--logdir", str(logdir)])
    return only_run(logdir)


def test_the_smoke_run_logs_every_score_text_and_image(smoke_run):
    events = load_events(smoke_run)
    scores = [f"{split}/{kind}_{metric}" for split in ("valid", "test") for kind in ("greedy", "beam")
              for metric in ("exact_match", "cer")]
    for tag in scores + ["valid/loss", "valid/token_accuracy"]:
        assert sorted(scalar_series(events, tag)) == [6], tag
    tags = events.Tags()["tensors"]
    assert "test_script/Latn" in tags and len([t for t in tags if t.startswith("test_script/")]) > 5
    table = tf.make_ndarray(events.Tensors("valid/samples")[-1].tensor_proto).item().decode()
    assert table.startswith("| source | reference | greedy | beam |")
    rows = table.splitlines()[2:]
    assert len(rows) == 12 and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", row.split(" | ")[1]) for row in rows)
    image = tf.make_ndarray(events.Tensors("valid/attention")[-1].tensor_proto)
    assert image[2].startswith(b"\x89PNG")  # [width, height, PNG bytes]


def test_the_validation_loss_and_token_accuracy_are_the_models(smoke_run):
    """Recomputed in NumPy from the saved model's teacher-forced logits."""
    run = restore_run(smoke_run)
    config = Seq2SeqConfig(**{**SMOKE, "logdir": "unused"})
    data = TASK.prepare(config, run.assets)
    logits, _ = run.model.teacher_forced(data.valid.source, data.valid.source_lengths, data.valid.target_in)
    logits = logits.numpy().astype(np.float64)
    log_p = logits - logits.max(-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
    gold, real = data.valid.target_out, data.valid.target_out != PAD
    picked = np.take_along_axis(log_p, gold[..., None], -1)[..., 0]
    events = load_events(smoke_run)
    assert scalar_series(events, "valid/loss")[6] == pytest.approx(-(picked * real).sum() / real.sum(), rel=1e-4)
    accuracy = ((logits.argmax(-1) == gold) & real).sum() / real.sum()
    assert scalar_series(events, "valid/token_accuracy")[6] == pytest.approx(accuracy)


def python_decodes(run, sources, beam, max_length=12):
    assets = run.assets
    ids, lengths = encode(sources, assets["source"], assets["tokens"], PAD_UNKNOWN_START_END)
    tokens, _, counts = run.model.translate(ids, lengths, START, END, max_length, beam, 0.6)
    return decode(tokens.numpy(), counts.numpy(), assets["target"], assets["tokens"])


def test_encode_and_decode_step_driven_by_a_client_give_translates_greedy_decode(smoke_run):
    served = tf.saved_model.load(str(smoke_run / "export" / "seq2seq" / "1"))
    encoded = served.signatures["encode"](sources=tf.constant(SOURCES))
    vocabularies = json.loads(open(served.vocabularies.asset_path.numpy().decode(), encoding="utf-8").read())
    states = first_states = {k: v for k, v in encoded.items() if k.startswith("state_")}
    ids, finished, texts = encoded["start_ids"], np.zeros(len(SOURCES), bool), [""] * len(SOURCES)
    for _ in range(12):
        step = served.signatures["decode_step"](previous_ids=ids, memory=encoded["memory"], mask=encoded["mask"],
                                                **states)
        np.testing.assert_allclose(np.exp(step["log_probs"].numpy()).sum(-1), 1.0, rtol=1e-5)
        ids = tf.argmax(step["log_probs"], -1, output_type=tf.int32)
        for row, token in enumerate(ids.numpy()):
            finished[row] |= token == vocabularies["end_id"]
            if not finished[row] and token >= len(SPECIAL_TOKENS):
                texts[row] += vocabularies["target"][token]
        states = {k: v for k, v in step.items() if k.startswith("state_")}
    translated = served.signatures["translate"](sources=tf.constant(SOURCES), beam_width=tf.constant(1),
                                                max_length=tf.constant(12))
    assert [t.decode() for t in translated["translations"].numpy()] == texts
    assert texts == python_decodes(restore_run(smoke_run), SOURCES, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="previous_ids: ids of the target vocabulary"):
        served.signatures["decode_step"](previous_ids=tf.constant([10 ** 6, 0, 0]), memory=encoded["memory"],
                                         mask=encoded["mask"], **first_states)


@pytest.mark.slow  # a fresh interpreter, about 15 s
def test_translate_without_the_project_gives_the_python_models_decodes(smoke_run, tmp_path):
    version = smoke_run / "export" / "seq2seq" / "1"
    output = run_without_project(f"""
        import json, tensorflow as tf
        served = tf.saved_model.load({str(version)!r}).signatures["translate"]
        for beam in (1, 3):
            result = served(sources=tf.constant({SOURCES!r}), beam_width=tf.constant(beam),
                            max_length=tf.constant(12))
            print(json.dumps([t.decode() for t in result["translations"].numpy()]))
        for sources, beam, length in ((["fine", ""], 2, 5), (["fine"], 65, 5), (["fine"], 2, 513),
                                      (["x" * 201], 1, 5), ([], 1, 5)):
            try:
                served(sources=tf.constant(sources, tf.string), beam_width=tf.constant(beam),
                       max_length=tf.constant(length))
                print("accepted")
            except tf.errors.InvalidArgumentError as error:
                print(" ".join(error.message.split()))
    """, cwd=tmp_path)
    lines = output.splitlines()
    served = [json.loads(line) for line in lines[-7:-5]]
    refusals = ["every source needs at least one char token", "beam_width: 1 to 64", "max_length: 1 to 512",
                "at most 200 char tokens each", "sources: 1 to 256 per request"]
    for line, refusal in zip(lines[-5:], refusals):
        assert refusal in line, line
    run = restore_run(smoke_run)
    for beam, texts in zip((1, 3), served):
        assert texts == python_decodes(run, SOURCES, beam)


# A second seq2seq run, on a pair file (about 13 s): slow.
@pytest.mark.slow
def test_a_word_level_run_on_a_pair_file_scores_bleu_and_serves_words(tmp_path):
    (tmp_path / "pairs.tsv").write_text(word_pairs(300), encoding="utf-8")
    main(["--smoke", "--data", str(tmp_path / "pairs.tsv"), "--tokens", "word", "--logdir", str(tmp_path / "runs")])
    run_dir = only_run(tmp_path / "runs")
    events = load_events(run_dir)
    for tag in ("valid/beam_bleu", "valid/beam_chrf", "test/beam_bleu", "test/beam_chrf"):
        assert 0.0 <= scalar_series(events, tag)[6] <= 100.0
    assets = json.loads((run_dir / "vocabularies.json").read_text())
    assert assets["tokens"] == "word" and "zéro" in assets["target"] and "zero" in assets["source"]
    served = tf.saved_model.load(str(run_dir / "export" / "seq2seq" / "1")).signatures["translate"]
    result = served(sources=tf.constant(["two one", "nine nine unknownword"]), beam_width=tf.constant(2),
                    max_length=tf.constant(6))
    texts = [t.decode() for t in result["translations"].numpy()]
    assert texts == python_decodes(restore_run(run_dir), ["two one", "nine nine unknownword"], 2, 6)
    assert all(word in assets["target"] for text in texts for word in text.split())


def test_locales_pick_the_generated_dates(tmp_path):
    config = Seq2SeqConfig(**{**SMOKE, "logdir": str(tmp_path), "locales": "ja_JP, ar_EG"})
    data = TASK.prepare(config)
    assert {source.split(" | ")[0] for source, _ in data.train.texts} == {"ja_JP", "ar_EG"}
    assert len(LOCALES) >= 40


@pytest.mark.slow  # three interpreters, about 30 s
def test_sigkill_then_resume_continues_with_the_same_losses(tmp_path):
    """With scheduled sampling on, so its draws too must follow (seed, update)."""
    steps, flags = 24, ["--sampling-k", "4"]
    whole = train_and_evaluate(TASK, Seq2SeqConfig(**{**SMOKE, "logdir": str(tmp_path / "whole"), "steps": steps,
                                                      "sampling_k": 4.0}), show_progress=False)
    run_dir = killed_then_resumed("recipes.seq2seq", tmp_path / "runs", ["--smoke", "--steps", str(steps), *flags], 6)
    expected = scalar_series(load_events(whole["run_dir"]), "train/loss")
    got = scalar_series(load_events(run_dir), "train/loss")
    assert sorted(got) == list(range(1, steps + 1))
    np.testing.assert_allclose([got[s] for s in sorted(got)], [expected[s] for s in sorted(expected)], rtol=1e-5)
    assert scalar_series(load_events(run_dir), "test/beam_exact_match") == pytest.approx(
        scalar_series(load_events(whole["run_dir"]), "test/beam_exact_match"))


def bad_inputs(folder):
    """name -> (flags, what the one-line error must say)."""
    good = "one\tun\n" * 40
    (folder / "notab.tsv").write_text("one\tun\ntwo deux\n")
    (folder / "empty_side.tsv").write_text("one\tun\ntwo\tdeux\nthree\t \n")
    (folder / "long.tsv").write_text("one\tun\n" + "x" * 30 + "\ty\n")
    (folder / "undecodable.tsv").write_bytes(b"one\tun\ntw\xff\tdeux\n")
    (folder / "binary.tsv").write_bytes(b"one\tun\x00\n")
    (folder / "empty.tsv").write_text("\n\n")
    (folder / "few.tsv").write_text("one\tun\n" * 12)
    (folder / "good.tsv").write_text(good)
    return {
        "line without tab": (["--data", "notab.tsv"], "notab.tsv:2: no tab; expected source<TAB>target"),
        "empty side": (["--data", "empty_side.tsv"], "empty_side.tsv:3: the target is empty"),
        "line over the length limit": (["--data", "long.tsv", "--max-source-length", "20"],
                                       "long.tsv:2: the source has 30 char tokens, over the limit of 20"),
        "target over the decode limit": (["--data", "good.tsv", "--tokens", "char", "--max-length", "2"],
                                         "good.tsv:1: the target has 2 char tokens, over the limit of 1"),
        "undecodable bytes": (["--data", "undecodable.tsv"], "undecodable.tsv:2: undecodable bytes at column 3"),
        "binary file": (["--data", "binary.tsv"], "binary.tsv:1: a NUL byte"),
        "no pairs": (["--data", "empty.tsv"], "empty.tsv: no pairs"),
        "missing file": (["--data", "nowhere.tsv"], "nowhere.tsv': no such file or folder"),
        "unknown locale": (["--locales", "fr_FR,xx_QQ"], "--locales: unknown locale 'xx_QQ'"),
        "locales with a pair file": (["--data", "good.tsv", "--locales", "fr_FR"], "expected no --locales with --data"),
        "words on the dates": (["--tokens", "word"], "--tokens word: the generated dates are read as characters"),
        "fewer pairs than one batch": (["--data", "few.tsv"], "few.tsv: 10 training pairs, fewer than one batch"),
        "bad sampling k": (["--sampling-k", "0.5"], "--sampling-k 0.5: expected 0 (off) or at least 1"),
        "bad attention": (["--attention", "cosine"], "--attention"),
        "dates over the decode limit": (["--max-length", "8"],
                                        "--max-length 8: the targets of dates need up to 11 tokens"),
    }


BAD_CASES = ["line without tab", "empty side", "line over the length limit", "target over the decode limit",
             "undecodable bytes", "binary file", "no pairs", "missing file", "unknown locale",
             "locales with a pair file", "words on the dates", "fewer pairs than one batch", "bad sampling k",
             "bad attention", "dates over the decode limit"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_stops_with_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    cases = bad_inputs(tmp_path)
    assert sorted(cases) == sorted(BAD_CASES)
    flags, expected = cases[case]
    with pytest.raises(SystemExit) as stopped:
        main(["--smoke", "--logdir", str(tmp_path / "runs"), *flags])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and expected in error, error
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow  # the default run, about 2.5 min on 2 cores
def test_the_default_run_reaches_99_percent_exact_match_with_beam_at_least_greedy(tmp_path):
    result = train_and_evaluate(TASK, Seq2SeqConfig(logdir=str(tmp_path)), show_progress=False)
    assert result["test/beam_exact_match"] >= 0.99
    assert result["test/beam_exact_match"] >= result["test/greedy_exact_match"]
    assert min(v for k, v in result.items() if k.startswith("test_script/")) >= 0.97
