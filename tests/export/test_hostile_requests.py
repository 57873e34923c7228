"""Hostile requests to every served signature of every recipe, sent in a process that
cannot import the project (as TF Serving loads an export): each is refused with a
message naming its input, before work or memory proportional to it, and the largest
request within the budget is served.

One probe process runs the whole table (the exports are smoke-sized and untrained: a
request's checks and cost do not depend on the weights). The refused large requests go
first, so the growth of the probe's peak RSS over each is that request's own. Four
exports and a fresh process, about 35 s: slow; `tests/export/test_requests.py` checks
the checking layer itself in the default suite.
"""

import json

import numpy as np
import pytest
from isolated import run_without_project

from export.classify import MAX_TIME as CLASSIFY_TIME
from export.language_model import MAX_GENERATE_LENGTH, MAX_PROMPT_LENGTH, MAX_TIME
from export.long_range import MAX_TIME as LONG_RANGE_TIME
from export.saved_model import export_model
from export.seq2seq import MAX_BEAM, MAX_DECODE
from export.tag import MAX_TEXT_BYTES as TAG_TEXT_BYTES
from export.tag import MAX_TIME as TAG_TIME
from export.tag import MAX_TOKEN_BYTES as TAG_TOKEN_BYTES

# Peak RSS growth allowed for a refused request: far below what serving it would take.
REFUSAL_MB = 150

PROBE = """
import json, resource, sys
import numpy as np, tensorflow as tf
spec = json.loads(sys.stdin.read())
exports = {recipe: tf.saved_model.load(path) for recipe, path in spec["exports"].items()}
def tensor(value):
    kind = value[0]
    if kind == "texts":
        return tf.constant([value[1]] * value[2])
    if kind == "scalar":
        return tf.constant(value[1], getattr(tf, value[2]))
    return tf.constant(np.full(value[1], value[2], value[3]))
results = {}
for name, (recipe, signature, inputs) in spec["cases"]:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        outputs = exports[recipe].signatures[signature](**{k: tensor(v) for k, v in inputs.items()})
        outcome = "served: finite" if all(np.isfinite(v.numpy()).all() for v in outputs.values()
                                          if v.dtype.is_floating) else "served: NOT FINITE"
    except tf.errors.InvalidArgumentError as error:
        outcome = " ".join(error.message.split())
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    results[name] = {"outcome": outcome, "growth_mb": growth}
print(json.dumps(results))
"""


def ids(shape, fill=1):
    return ["array", shape, fill, "int32"]


def floats(shape, fill=0.5):
    return ["array", shape, fill, "float32"]


def words(shape, fill="word"):
    return ["array", shape, fill, "object"]  # "str" would cut the fill to one character


def texts(text, rows=1):
    return ["texts", text, rows]


def scalar(value, dtype):
    return ["scalar", value, dtype]


def generate(prompt, rows=1, max_length=8, temperature=1.0):
    return {"prompt": texts(prompt, rows), "max_length": scalar(max_length, "int32"),
            "temperature": scalar(temperature, "float32"), "top_k": scalar(0, "int32"),
            "top_p": scalar(1.0, "float32"), "seed": scalar(0, "int64")}


def smoke_export(recipe, folder):
    """(export folder, served module) of the recipe's smoke configuration, untrained."""
    import importlib

    module = importlib.import_module(f"recipes.{recipe}")
    one_run = {"cells": "lstm", "lengths": "12"} if recipe == "long_range" else {}  # a sweep's run
    config = module.TASK.config_class(**{**module.SMOKE, **one_run})
    assets = module.TASK.prepare(config).assets
    model = module.TASK.build_model(config, assets, inference=True)
    version = export_model(module.TASK, model, assets, folder, recipe)
    (folder / "scratch-assets").mkdir(exist_ok=True)
    return version, module.TASK.serving(model, assets, folder / "scratch-assets")


def cases(servers):
    """name -> (recipe, signature, inputs, what the outcome must contain); big refusals first."""
    lm, vowels, translator, tagger = servers["char_lm"], servers["classify"], servers["seq2seq"], servers["tag"]
    lm_budget, width = lm.budget, vowels.assets["features"]
    states = lambda rows, fill=0.0, width_change=0: {
        name: floats([rows, size + width_change], fill) for name, size in zip(lm.state_names, lm.state_widths)}
    longest = translator.max_source
    decode = lambda rows=2, steps=3, memory_width=translator.memory_width, fill=0.1, state_fill=0.0, ids_=1: {
        "previous_ids": ids([rows], ids_), "memory": floats([rows, steps, memory_width], fill),
        "mask": ["array", [rows, steps], True, "bool"],
        **{f"state_{k}": floats([rows, translator.model.units], state_fill) for k in range(translator.parts)}}
    translate = lambda rows, beam, length, source="1": {
        "sources": texts(source, rows), "beam_width": scalar(beam, "int32"), "max_length": scalar(length, "int32")}
    refused_big = {
        "generate: max_length 10^9": ("char_lm", "generate", generate("The ", max_length=10**9),
                                      f"max_length: 1 to {MAX_GENERATE_LENGTH}"),
        "generate: a 200,000-character prompt": ("char_lm", "generate", generate("a" * 200_000),
                                                 f"prompt: at most {MAX_PROMPT_LENGTH} characters each"),
        "serving_default: 10^6 steps": ("char_lm", "serving_default", {"token_ids": ids([1, 10**6])},
                                        f"token_ids: 1 to {MAX_TIME} steps"),
        "classify: 10^6 steps": ("classify", "classify", {"features": floats([1, 10**6, width]),
                                                          "lengths": ids([1], 10**6)},
                                 f"features: 1 to {CLASSIFY_TIME} steps"),
        "predict: 10^6 steps": ("long_range", "predict", {"sequences": floats([1, 10**6, 2])},
                                f"sequences: 1 to {LONG_RANGE_TIME} time steps"),
        "translate: 256 sources, beam 64, length 512": (
            "seq2seq", "translate", translate(256, MAX_BEAM, MAX_DECODE), "over the request budget"),
    }
    others = {
        # char_lm
        "serving_default: rank 1": ("char_lm", "serving_default", {"token_ids": ids([5])},
                                    "token_ids: expected int32 [batch, time]"),
        "serving_default: 257 rows": ("char_lm", "serving_default", {"token_ids": ids([257, 2])},
                                      "token_ids: 1 to 256 rows"),
        "serving_default: one row over the budget": (
            "char_lm", "serving_default", {"token_ids": ids([256, lm_budget // 256 + 1])},
            "token_ids: batch x time over the request budget of 65536 cell steps"),
        "serving_default: the budget exactly": ("char_lm", "serving_default",
                                                {"token_ids": ids([256, lm_budget // 256])}, "served: finite"),
        "serving_default: id past the vocabulary": ("char_lm", "serving_default",
                                                    {"token_ids": ids([1, 3], lm.vocab_size)},
                                                    "token_ids: id outside the vocabulary"),
        "serving_default: negative id": ("char_lm", "serving_default", {"token_ids": ids([1, 3], -1)},
                                         "token_ids: negative id"),
        "step: two ids a row": ("char_lm", "step", {"token_ids": ids([1, 2], 5), **states(1)},
                                "token_ids: one id per row ([batch, 1])"),
        "step: a state of the wrong width": ("char_lm", "step", {"token_ids": ids([1, 1], 5),
                                                                 **states(1, width_change=1)},
                                             f"{lm.state_names[0]}: expected [batch, {lm.state_widths[0]}]"),
        "step: states of another batch": ("char_lm", "step", {"token_ids": ids([2, 1], 5), **states(1)},
                                          "batch as in token_ids"),
        "step: NaN states": ("char_lm", "step", {"token_ids": ids([1, 1], 5), **states(1, float("nan"))},
                             f"{lm.state_names[0]}: values must be finite"),
        "step: infinite states": ("char_lm", "step", {"token_ids": ids([1, 1], 5), **states(1, float("inf"))},
                                  f"{lm.state_names[0]}: values must be finite"),
        "step: 256 rows": ("char_lm", "step", {"token_ids": ids([256, 1], 5), **states(256)}, "served: finite"),
        "generate: over the budget": ("char_lm", "generate", generate("a", 256, lm_budget // 256),
                                      "batch x (longest prompt + max_length) over the request budget"),
        "generate: the budget exactly": ("char_lm", "generate", generate("a", 256, lm_budget // 256 - 1),
                                         "served"),
        "generate: an empty prompt": ("char_lm", "generate", generate(""), "every prompt must hold at least one"),
        "generate: infinite temperature": ("char_lm", "generate", generate("a", temperature=float("inf")),
                                           "temperature: finite and >= 0"),
        # classify
        "classify: rank 2 features": ("classify", "classify", {"features": floats([3, width]), "lengths": ids([3])},
                                      f"features: expected float32 [batch, time, {width}]"),
        "classify: a feature short": ("classify", "classify", {"features": floats([1, 4, width - 1]),
                                                               "lengths": ids([1], 4)}, f"features: {width} per step"),
        "classify: one step over the budget": (
            "classify", "classify", {"features": floats([256, vowels.budget // 256 + 1, width]),
                                     "lengths": ids([256], 2)}, "features: batch x time over the request budget"),
        "classify: the budget exactly": ("classify", "classify", {
            "features": floats([256, vowels.budget // 256, width]), "lengths": ids([256], vowels.budget // 256)},
            "served: finite"),
        "classify: features that overflow the model": (
            "classify", "classify", {"features": floats([2, 4, width], 3.4e38), "lengths": ids([2], 4)},
            "features: values so large that the model output overflows"),
        "classify: NaN features": ("classify", "classify", {"features": floats([2, 4, width], float("nan")),
                                                            "lengths": ids([2], 4)}, "features: values must be finite"),
        "classify: lengths past the time axis": ("classify", "classify", {"features": floats([2, 4, width]),
                                                                          "lengths": ids([2], 5)},
                                                 "lengths: at most the time axis"),
        "classify: lengths of another batch": ("classify", "classify", {"features": floats([2, 4, width]),
                                                                        "lengths": ids([3], 2)},
                                               "lengths: one per sequence"),
        # long_range
        "predict: a feature too many": ("long_range", "predict", {"sequences": floats([1, 5, 3])},
                                        "sequences: 2 features per step"),
        "predict: one step over the budget": ("long_range", "predict",
                                              {"sequences": floats([256, servers["long_range"].budget // 256 + 1, 2])},
                                              "sequences: batch x time over the request budget"),
        "predict: infinite values": ("long_range", "predict", {"sequences": floats([1, 5, 2], float("inf"))},
                                     "sequences: values must be finite"),
        "predict: a rank-2 request": ("long_range", "predict", {"sequences": floats([5, 2])},
                                      "sequences: expected float32 [batch, time, 2]"),
        "long_range step: a state of the wrong width": (
            "long_range", "step", {"inputs": floats([1, 2]), "state_0_0": floats([1, 9]), "state_0_1": floats([1, 8])},
            "state_0_0: expected [batch, 8], batch as in inputs"),
        "long_range step: states of another batch": (
            "long_range", "step", {"inputs": floats([2, 2]), "state_0_0": floats([1, 8]), "state_0_1": floats([2, 8])},
            "state_0_0: expected [batch, 8], batch as in inputs"),
        "long_range step: NaN states": (
            "long_range", "step", {"inputs": floats([1, 2]), "state_0_0": floats([1, 8]),
                                   "state_0_1": floats([1, 8], float("nan"))}, "state_0_1: values must be finite"),
        "long_range step: a feature too many": (
            "long_range", "step", {"inputs": floats([1, 3]), "state_0_0": floats([1, 8]), "state_0_1": floats([1, 8])},
            "inputs: 2 features, as in training"),
        "long_range step: 256 rows": (
            "long_range", "step", {"inputs": floats([256, 2]), "state_0_0": floats([256, 8]),
                                   "state_0_1": floats([256, 8])}, "served: finite"),
        "generate: a max_length vector": ("char_lm", "generate", {**generate("a"), "max_length": ids([2], 3)},
                                          "max_length: expected an int32 scalar"),
        "decode_step: a rank-2 previous_ids": ("seq2seq", "decode_step", {**decode(), "previous_ids": ids([2, 1])},
                                               "previous_ids: expected int32 [rows]"),
        # seq2seq
        "translate: beam 65": ("seq2seq", "translate", translate(1, MAX_BEAM + 1, 5), f"beam_width: 1 to {MAX_BEAM}"),
        "translate: max_length 513": ("seq2seq", "translate", translate(1, 1, MAX_DECODE + 1),
                                      f"max_length: 1 to {MAX_DECODE}"),
        "translate: a source too long": ("seq2seq", "translate", translate(1, 1, 5, "1" * (longest + 1)),
                                         f"sources: at most {longest} char tokens each"),
        "translate: 257 sources": ("seq2seq", "translate", translate(257, 1, 5), "sources: 1 to 256 per request"),
        "translate: the budget exactly": ("seq2seq", "translate", translate(256, 1, translator.budget // 256),
                                          "served"),
        "translate: one step over the budget": ("seq2seq", "translate", translate(256, 1, translator.budget // 256 + 1),
                                                "batch x beam_width x max_length over the request budget"),
        "decode_step: more memory steps than a source has": ("seq2seq", "decode_step", decode(steps=longest + 1),
                                                             f"memory: 1 to {longest} steps"),
        "encode: megabytes of source": ("seq2seq", "encode", {"sources": texts("1" * 10**6)},
                                        f"sources: at most {longest} char tokens each"),
        "decode_step: NaN states": ("seq2seq", "decode_step", decode(state_fill=float("nan")),
                                    "state_0: values must be finite"),
        "decode_step: NaN memory": ("seq2seq", "decode_step", decode(fill=float("nan")),
                                    "memory: values must be finite"),
        "decode_step: memory of the wrong width": ("seq2seq", "decode_step",
                                                   decode(memory_width=translator.memory_width + 1),
                                                   f"memory: expected [rows, steps, {translator.memory_width}]"),
        "decode_step: an id past the vocabulary": ("seq2seq", "decode_step",
                                                   decode(ids_=translator.model.output_layer.units),
                                                   "previous_ids: ids of the target vocabulary"),
        "decode_step: a good step": ("seq2seq", "decode_step", decode(), "served: finite"),
        # tag
        "tag: megabytes of text": ("tag", "tag", {"texts": texts("w " * 600_000)},
                                   f"texts: at most {TAG_TEXT_BYTES} bytes each"),
        "tag: 256 texts of the most bytes each": ("tag", "tag", {"texts": texts("w " * (TAG_TEXT_BYTES // 2), 256)},
                                                  "texts: at most 1048576 bytes in all"),
        "tag: 257 texts": ("tag", "tag", {"texts": texts("a word", 257)}, "texts: 1 to 256 per request"),
        "tag: a text of punctuation only": ("tag", "tag", {"texts": texts(">>> --")},
                                            "texts: every text needs at least one word"),
        "tag: a text of 4,097 words": ("tag", "tag", {"texts": texts("w " * (TAG_TIME + 1))},
                                        f"texts: at most {TAG_TIME} words each"),
        "tag: one word over the budget": ("tag", "tag", {"texts": texts("w " * (tagger.budget // 256 + 1), 256)},
                                          "texts: batch x words over the request budget"),
        "tag: the budget exactly": ("tag", "tag", {"texts": texts("w " * (tagger.budget // 256), 256)},
                                    "served: finite"),
        "tag_tokens: 10^6 steps": ("tag", "tag_tokens", {"tokens": words([1, 10**6]), "lengths": ids([1], 3)},
                                   f"tokens: 1 to {TAG_TIME} steps"),
        "tag_tokens: a rank-1 request": ("tag", "tag_tokens", {"tokens": words([4]), "lengths": ids([1], 4)},
                                         "tokens: expected string [batch, time]"),
        "tag_tokens: lengths past the time axis": ("tag", "tag_tokens", {"tokens": words([2, 3]),
                                                                          "lengths": ids([2], 4)},
                                                   "lengths: at most the time axis of tokens"),
        "tag_tokens: a 2,000-byte token": ("tag", "tag_tokens", {"tokens": words([1, 2], "a" * 2000),
                                                                  "lengths": ids([1], 2)},
                                           f"tokens: at most {TAG_TOKEN_BYTES} bytes each"),
        "tag_tokens: one step over the budget": ("tag", "tag_tokens", {
            "tokens": words([256, tagger.budget // 256 + 1]), "lengths": ids([256], 2)},
            "tokens: batch x time over the request budget"),
        "tag_tokens: a good request": ("tag", "tag_tokens", {"tokens": words([3, 5]), "lengths": ids([3], 4)},
                                       "served: finite"),
    }
    return {**refused_big, **others}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    exports, servers = {}, {}
    for recipe in ("char_lm", "classify", "long_range", "seq2seq", "tag"):
        version, servers[recipe] = smoke_export(recipe, folder / recipe)
        exports[recipe] = str(version)
    table = cases(servers)
    spec = {"exports": exports, "cases": [(name, case[:3]) for name, case in table.items()]}
    results = json.loads(run_without_project(PROBE, folder, timeout=600, stdin=json.dumps(spec)))
    return table, results


@pytest.mark.slow
def test_the_table_covers_every_signature(outcomes):
    table, _ = outcomes
    covered = {(recipe, signature) for recipe, signature, *_ in table.values()}
    assert covered == {("char_lm", "serving_default"), ("char_lm", "step"), ("char_lm", "generate"),
                       ("classify", "classify"), ("long_range", "predict"), ("long_range", "step"),
                       ("seq2seq", "translate"),
                       ("seq2seq", "encode"), ("seq2seq", "decode_step"), ("tag", "tag"), ("tag", "tag_tokens")}


@pytest.mark.slow
def test_every_hostile_request_is_refused_naming_its_input_and_every_admitted_one_served(outcomes):
    table, results = outcomes
    wrong = {name: f"{results[name]['outcome'][-160:]} (expected {case[3]!r})" for name, case in table.items()
             if case[3] not in results[name]["outcome"]}
    assert wrong == {}, "\n".join(f"{name}: {outcome}" for name, outcome in wrong.items())


@pytest.mark.slow
def test_refusals_of_large_requests_come_before_the_memory_they_guard(outcomes):
    table, results = outcomes
    big = list(table)[:6]
    assert all("served" not in results[name]["outcome"] for name in big)
    assert {name: results[name]["growth_mb"] for name in big
            if results[name]["growth_mb"] > REFUSAL_MB} == {}


def test_the_budget_is_recorded_beside_the_vocabulary(tmp_path):
    version, server = smoke_export("char_lm", tmp_path)
    recorded = json.loads((version / "assets" / "requests.json").read_text())
    assert recorded["request_budget_cell_steps"] == server.budget == 65536
    assert recorded["work"]["generate"] == "batch x (longest prompt + max_length)"
    assert (version / "assets" / "vocabulary.txt").is_file()
    assert np.isfinite(recorded["limits"]["time"])
    assert recorded["inputs"]["step"]["token_ids"] == {"shape": [None, 1], "expected": "int32 [batch, 1]"}
