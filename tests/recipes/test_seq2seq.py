"""`python -m recipes.seq2seq` (work in progress): the smoke run trains, scores greedy
and beam exact match on held-out days, and exports a `translate` that a process without
the project serves with the Python model's decodes."""

import json

import numpy as np
import pytest

from event_files import load_events, scalar_series
from isolated import run_without_project
from recipes.seq2seq import END, START, detokenize, encode_texts, main
from run_folders import only_run
from zoo.runs import restore_run


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("seq2seq")
    main(["--smoke", "--logdir", str(logdir)])
    return only_run(logdir)


def test_the_smoke_run_trains_and_scores_exact_match(smoke_run):
    events = load_events(smoke_run)
    assert sorted(scalar_series(events, "valid/beam_exact_match")) == [6]
    assert sorted(scalar_series(events, "test/greedy_exact_match")) == [6]


@pytest.mark.slow  # a fresh interpreter, about 15 s
def test_translate_without_the_project_gives_the_python_models_decodes(smoke_run, tmp_path):
    sources = ["fr_FR | 23 novembre 2026", "ar_EG | ٢٣‏/١١‏/٢٠٢٦", "xx | unseen ✓"]
    version = smoke_run / "export" / "seq2seq" / "1"
    output = run_without_project(f"""
        import json, tensorflow as tf
        served = tf.saved_model.load({str(version)!r}).signatures["translate"]
        for beam in (1, 3):
            result = served(sources=tf.constant({sources!r}), beam_width=tf.constant(beam),
                            max_length=tf.constant(12))
            print(json.dumps([t.decode() for t in result["translations"].numpy()]))
        try:
            served(sources=tf.constant(["fine", ""]), beam_width=tf.constant(2), max_length=tf.constant(5))
        except tf.errors.InvalidArgumentError as error:
            print(" ".join(error.message.split()))
    """, cwd=tmp_path)
    served = [json.loads(line) for line in output.splitlines()[-3:-1]]
    assert "every source needs at least one character" in output.splitlines()[-1]
    run = restore_run(smoke_run)
    ids, lengths = encode_texts(sources, run.assets["source"])
    for beam, texts in zip((1, 3), served):
        tokens, _, counts = run.model.translate(ids, lengths, START, END, 12, beam, 0.6)
        assert texts == detokenize(tokens, counts, run.assets["target"])
