"""Runs recipes on 2 logical CPU devices and on 1, in a fresh interpreter (TensorFlow's
devices are fixed when it starts), and writes what `tests/zoo/training/test_distribution.py`
compares: each run's train/loss per step and final weights.

    python tests/distributed_runs.py OUT_DIR
"""

import dataclasses
import json
import pathlib
import sys

TESTS = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

from zoo.training.distribution import split_cpu  # noqa: E402

split_cpu(2)  # before TensorFlow creates its devices

import numpy as np  # noqa: E402
from char_lm_runs import smoke_config  # noqa: E402
from event_files import load_events, scalar_series  # noqa: E402
from seq2seq_pairs import word_pairs  # noqa: E402

from recipes import char_lm, classify, seq2seq, tag, tree  # noqa: E402
from zoo.training.loop import train_and_evaluate  # noqa: E402

STEPS = 8


def record(result, out, name):
    losses = scalar_series(load_events(result["run_dir"]), "train/loss")
    from zoo.run.folders import restore_run
    weights = restore_run(result["run_dir"]).model.get_weights()
    np.savez(out / f"{name}.npz", *weights)
    return [losses[step] for step in sorted(losses)]


def main(out):
    out = pathlib.Path(out)
    losses = {}
    # TBPTT(k1=5, k2=9) on 8 streams; dropout off (each replica draws its own masks).
    lm = dataclasses.replace(smoke_config(out / "lm", steps=STEPS), dropout=0.0, k1=5, k2=9, devices=2)
    for strategy in ("default", "mirrored"):
        config = dataclasses.replace(lm, strategy=strategy)
        result = train_and_evaluate(char_lm.TASK, config, out / f"lm-{strategy}", show_progress=False)
        losses[f"lm-{strategy}"] = record(result, out, f"lm-{strategy}")
    # Stopped after 4 updates on 2 replicas, resumed on 1 device.
    config = dataclasses.replace(lm, strategy="mirrored")
    train_and_evaluate(char_lm.TASK, config, out / "lm-switch", show_progress=False,
                       stop_requested=lambda step: step == 4)
    result = train_and_evaluate(char_lm.TASK, dataclasses.replace(config, strategy="default"), out / "lm-switch",
                                resume=True, show_progress=False)
    losses["lm-switch"] = record(result, out, "lm-switch")
    # The minibatch rule: the classify recipe's smoke configuration, batch 16.
    clf = classify.ClassifyConfig(**{**classify.SMOKE, "logdir": str(out / "clf"), "dropout": 0.0,
                                     "steps": STEPS, "devices": 2})
    for strategy in ("default", "mirrored"):
        config = dataclasses.replace(clf, strategy=strategy)
        result = train_and_evaluate(classify.TASK, config, out / f"clf-{strategy}", show_progress=False)
        losses[f"clf-{strategy}"] = record(result, out, f"clf-{strategy}")
    # Token-weighted losses: word pairs of 1 to 3 words give the replicas unequal shares
    # of the batch's target tokens.
    (out / "pairs.tsv").write_text(word_pairs(200), encoding="utf-8")
    s2s = seq2seq.Seq2SeqConfig(**{**seq2seq.SMOKE, "logdir": str(out / "s2s"), "dropout": 0.0, "steps": STEPS,
                                   "devices": 2, "data": str(out / "pairs.tsv"), "tokens": "word"})
    for strategy in ("default", "mirrored"):
        config = dataclasses.replace(s2s, strategy=strategy)
        result = train_and_evaluate(seq2seq.TASK, config, out / f"s2s-{strategy}", show_progress=False)
        losses[f"s2s-{strategy}"] = record(result, out, f"s2s-{strategy}")
    # Word-weighted losses over two heads: paragraphs of unequal lengths.
    tagger = tag.TagConfig(**{**tag.SMOKE, "logdir": str(out / "tag"), "dropout": 0.0, "steps": STEPS,
                              "devices": 2})
    for strategy in ("default", "mirrored"):
        config = dataclasses.replace(tagger, strategy=strategy)
        result = train_and_evaluate(tag.TASK, config, out / f"tag-{strategy}", show_progress=False)
        losses[f"tag-{strategy}"] = record(result, out, f"tag-{strategy}")
    # Whole trees per replica: rows of unequal node counts, the mean over trees.
    trees = tree.TreeConfig(**{**tree.SMOKE, "logdir": str(out / "tree"), "steps": STEPS, "devices": 2})
    for strategy in ("default", "mirrored"):
        config = dataclasses.replace(trees, strategy=strategy)
        result = train_and_evaluate(tree.TASK, config, out / f"tree-{strategy}", show_progress=False)
        losses[f"tree-{strategy}"] = record(result, out, f"tree-{strategy}")
    losses["nan"] = nan_on_one_replica(clf)
    (out / "losses.json").write_text(json.dumps(losses))


def nan_on_one_replica(config):
    """A batch whose NaN lies only in replica 1's rows: both replicas skip the update (no
    weight moves, nobody waits), then a clean batch applies. Returns the two `finite`s."""
    from zoo.training.distribution import make_strategy
    from zoo.training.loop import build_optimizer

    # No warm-up: the first applied update is the schedule's step 0.
    config = dataclasses.replace(config, strategy="mirrored", warmup_steps=0)
    data = classify.TASK.prepare(config)
    with make_strategy("mirrored", 2).scope():
        model = classify.TASK.build_model(config, data.assets)
        rule = classify.TASK.update_rule(config, model, build_optimizer(config), data)
    inputs, lengths, labels = next(rule.batches())
    poisoned = inputs.copy()
    poisoned[config.batch_size // 2:, 0, 0] = np.nan
    before = [w.copy() for w in model.get_weights()]
    skipped = rule.train_step(poisoned, lengths, labels)
    unchanged = all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    applied = rule.train_step(inputs, lengths, labels)
    moved = not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    return [bool(skipped["finite"]), unchanged, bool(applied["finite"]), moved]


if __name__ == "__main__":
    main(sys.argv[1])
