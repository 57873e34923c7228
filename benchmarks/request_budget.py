"""Seconds and peak memory of the worst requests each export admits, at its default budget.

    python -m benchmarks.request_budget                    # every recipe's default model
    python -m benchmarks.request_budget --recipes char_lm --repeats 5

Each recipe's default configuration is built untrained (a request's cost does not
depend on the weights) and exported as `python -m export` would. Every request below is
then sent in a fresh process that cannot import the project, after the export's warm-up
requests: its seconds (median, and the range, of `--repeats` calls) and its peak
resident memory over the process's own after loading and warming up (`ru_maxrss`, a
high-water mark, so one request per process). The requests are the largest each
signature's limits and budget admit, at both ends: the longest sequential one (batch 1)
and the widest one (the full batch), and, where a refused one is shown, the refusal's
seconds.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

from export.language_model import MAX_GENERATE_LENGTH, MAX_PROMPT_LENGTH
from export.language_model import MAX_TIME as LM_TIME
from export.saved_model import export_model
from export.seq2seq import MAX_BEAM, MAX_DECODE
from export.tag import MAX_TEXT_BYTES as TAG_TEXT_BYTES
from export.tag import MAX_TIME as TAG_TIME

RECIPES = ("char_lm", "classify", "long_range", "seq2seq", "tag")

PROBE = """
import json, resource, statistics, sys, time
import numpy as np, tensorflow as tf
spec = json.loads(sys.stdin.read())
served = tf.saved_model.load(spec["export"])
def tensor(value):
    if value["kind"] == "text":
        return tf.constant([value["text"]] * value["rows"])
    if value["kind"] == "scalar":
        return tf.constant(value["value"], getattr(tf, value["dtype"]))
    return tf.constant(np.full(value["shape"], value["fill"], value["dtype"]))
for signature, inputs in spec["warmup"]:
    served.signatures[signature](**{name: tensor(v) for name, v in inputs.items()})
inputs = {name: tensor(v) for name, v in spec["inputs"].items()}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
seconds, refused = [], None
for _ in range(spec["repeats"]):
    started = time.perf_counter()
    try:
        served.signatures[spec["signature"]](**inputs)
    except tf.errors.InvalidArgumentError as error:
        refused = error.message.split("[")[1].split("]")[0] if "[" in error.message else error.message
    seconds.append(time.perf_counter() - started)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"median": statistics.median(seconds), "low": min(seconds), "high": max(seconds),
                  "peak_mb": (peak - before) / 1024, "baseline_mb": before / 1024, "refused": refused}))
"""


def ids(shape, fill=1):
    return {"kind": "array", "shape": shape, "fill": fill, "dtype": "int32"}


def floats(shape, fill=0.5):
    return {"kind": "array", "shape": shape, "fill": fill, "dtype": "float32"}


def texts(text, rows):
    return {"kind": "text", "text": text, "rows": rows}


def scalar(value, dtype):
    return {"kind": "scalar", "value": value, "dtype": dtype}


def built(recipe):
    """(task, config, assets, model) of the recipe's default configuration, untrained."""
    import importlib

    module = importlib.import_module(f"recipes.{recipe}")
    config = module.TASK.config_class(**({"cells": "lstm", "lengths": "100"} if recipe == "long_range" else {}))
    assets = module.TASK.prepare(config).assets
    return module.TASK, config, assets, module.TASK.build_model(config, assets, inference=True)


def requests(recipe, server, assets):
    """[(name, signature, inputs)] of the worst admitted requests (and one refused)."""
    budget = server.budget
    if recipe == "char_lm":
        states = {name: floats([256, width], 0.0) for name, width in zip(server.state_names, server.state_widths)}
        generate = lambda text, rows, length: {
            "prompt": texts(text, rows), "max_length": scalar(length, "int32"), "temperature": scalar(1.0, "float32"),
            "top_k": scalar(0, "int32"), "top_p": scalar(1.0, "float32"), "seed": scalar(0, "int64")}
        return [
            ("serving_default 1 x MAX_TIME", "serving_default", {"token_ids": ids([1, LM_TIME])}),
            (f"serving_default 256 x {budget // 256}", "serving_default", {"token_ids": ids([256, budget // 256])}),
            ("step 256", "step", {"token_ids": ids([256, 1]), **states}),
            (f"generate 1 x ({MAX_PROMPT_LENGTH} + {MAX_GENERATE_LENGTH})", "generate",
             generate("a" * MAX_PROMPT_LENGTH, 1, MAX_GENERATE_LENGTH)),
            (f"generate 256 x (1 + {budget // 256 - 1})", "generate", generate("a", 256, budget // 256 - 1)),
            ("generate max_length 10^9 (refused)", "generate", generate("a", 1, 10**9)),
            ("generate 200,000-character prompt (refused)", "generate", generate("a" * 200_000, 1, 10)),
        ]
    if recipe == "classify":
        width = assets["features"]
        return [
            ("classify 1 x MAX_TIME", "classify", {"features": floats([1, 20000, width]), "lengths": ids([1], 20000)}),
            (f"classify 256 x {budget // 256}", "classify",
             {"features": floats([256, budget // 256, width]), "lengths": ids([256], budget // 256)}),
            ("classify 1 x 10^6 (refused)", "classify",
             {"features": floats([1, 10**6, width]), "lengths": ids([1], 10**6)}),
        ]
    if recipe == "long_range":
        return [
            ("predict 1 x MAX_TIME", "predict", {"sequences": floats([1, 100000, 2])}),
            (f"predict 256 x {budget // 256}", "predict", {"sequences": floats([256, budget // 256, 2])}),
            ("predict 1 x 10^6 (refused)", "predict", {"sequences": floats([1, 10**6, 2])}),
        ]
    if recipe == "tag":
        words = lambda rows, steps: {"kind": "array", "shape": [rows, steps], "fill": "word", "dtype": "object"}
        return [
            (f"tag 1 x {TAG_TIME} words", "tag", {"texts": texts("word " * TAG_TIME, 1)}),
            (f"tag 256 x {budget // 256} words", "tag", {"texts": texts("word " * (budget // 256), 256)}),
            (f"tag_tokens 1 x {TAG_TIME}", "tag_tokens", {"tokens": words(1, TAG_TIME), "lengths": ids([1], TAG_TIME)}),
            (f"tag_tokens 256 x {budget // 256}", "tag_tokens",
             {"tokens": words(256, budget // 256), "lengths": ids([256], budget // 256)}),
            ("tag 256 x 64 KiB (refused)", "tag", {"texts": texts("w " * (TAG_TEXT_BYTES // 2), 256)}),
            ("tag 1 x 1 MiB (refused)", "tag", {"texts": texts("w " * (1 << 19), 1)}),
        ]
    source = "1" * assets["max_source_length"]
    longest = assets["max_source_length"]
    translate = lambda rows, beam, length: {"sources": texts(source, rows), "beam_width": scalar(beam, "int32"),
                                            "max_length": scalar(length, "int32")}
    rows = min(budget // longest, 256 * MAX_BEAM)
    beams = budget // MAX_DECODE
    return [
        (f"translate 1 x {beams} x {MAX_DECODE}, sources of {longest}", "translate",
         translate(1, beams, MAX_DECODE)),
        (f"translate 256 x 1 x {budget // 256}, sources of {longest}", "translate", translate(256, 1, budget // 256)),
        (f"translate 256 x {MAX_BEAM} x {MAX_DECODE} (refused)", "translate", translate(256, MAX_BEAM, MAX_DECODE)),
        (f"encode {min(256, budget // longest)} x {longest}", "encode",
         {"sources": texts(source, min(256, budget // longest))}),
        (f"decode_step {rows} x {longest}", "decode_step", {
            "previous_ids": ids([rows], 1), "memory": floats([rows, longest, server.memory_width], 0.1),
            "mask": {"kind": "array", "shape": [rows, longest], "fill": True, "dtype": "bool"},
            **{f"state_{k}": floats([rows, server.model.units], 0.0) for k in range(server.parts)}}),
    ]


def warmup_of(server):
    """The export's warm-up requests in the probe's terms (so tracing is not measured)."""
    converted = []
    for signature, inputs in server.warmup_requests():
        values = {}
        for name, value in inputs.items():
            if value.dtype.kind in "SO" and value.ndim >= 2:
                values[name] = {"kind": "array", "shape": list(value.shape), "fill": value.reshape(-1)[0].decode(),
                                "dtype": "object"}
            elif value.dtype.kind in "SO":
                values[name] = texts(value.reshape(-1)[0].decode(), len(value.reshape(-1)))
            elif value.ndim == 0:
                values[name] = scalar(value.item(), str(value.dtype))
            else:
                values[name] = {"kind": "array", "shape": list(value.shape), "fill": value.reshape(-1)[0].item(),
                                "dtype": str(value.dtype)}
        converted.append((signature, values))
    return converted


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args(argv)
    print("| recipe | request | seconds, median (range) | peak MB over the loaded model | refused |")
    print("| --- | --- | --- | --- | --- |")
    for recipe in arguments.recipes:
        task, config, assets, model = built(recipe)
        with tempfile.TemporaryDirectory() as folder:
            version = export_model(task, model, assets, folder, recipe)
            server = task.serving(model, assets, pathlib.Path(folder))
            for name, signature, inputs in requests(recipe, server, assets):
                spec = {"export": str(version), "signature": signature, "inputs": inputs,
                        "warmup": warmup_of(server), "repeats": arguments.repeats}
                result = subprocess.run([sys.executable, "-I", "-c", PROBE], input=json.dumps(spec),
                                        capture_output=True, text=True, timeout=1200)
                if result.returncode:
                    print(f"| {recipe} | {name} | failed: {result.stderr.strip().splitlines()[-1]} | | |")
                    continue
                row = json.loads(result.stdout.strip().splitlines()[-1])
                print(f"| {recipe} | {name} | {row['median']:.2f} ({row['low']:.2f}-{row['high']:.2f}) | "
                      f"{row['peak_mb']:.0f} (model {row['baseline_mb']:.0f}) | {row['refused'] or ''} |", flush=True)


if __name__ == "__main__":
    main()
