"""What each deploy format costs: file size, latency and the error quantisation adds, for
char_lm's `step` and classify's `classify`, in one invocation.

    python -m benchmarks.deploy                                  # trains both default models first
    python -m benchmarks.deploy --char-lm RUN --classify RUN     # existing runs

Without runs, each recipe's default configuration is trained here (`--lm-steps` updates
of char_lm's 2 x 256 LSTM, classify's full default run on JapaneseVowels), then exported
as `python -m export` does: the SavedModel, LiteRT (float32, float16, int8 dynamic range)
and ONNX. Every engine loads its file as an app would: TF's `tf.saved_model.load` (the
served signature, request checks included), the standalone LiteRT interpreter (its
default XNNPACK delegate), onnxruntime's CPU provider; each with its default threads.
Latency is one call's seconds, the engines taking turns (`benchmarks.peers`), the median
of `--rounds` calls, over `--blocks` blocks (the range of the blocks' medians is shown).
Quality: bits per character on the first `--valid-chars` characters of char_lm's own
validation text (serving_default, one row), and accuracy on classify's validation split.
"""

import argparse
import pathlib
import statistics
import tempfile
from importlib.metadata import version

import numpy as np
import tensorflow as tf

from benchmarks.peers import interleaved_seconds
from export.deploy import export_deployable
from export.saved_model import export_run
from zoo.data import load_corpus, split_corpus
from zoo.run.folders import restore_run

ENGINES = ("savedmodel", "litert", "litert-float16", "litert-int8", "onnx")


def train_default(recipe, logdir, steps=None):
    """A run of the recipe's default configuration (char_lm: `steps` updates)."""
    if recipe == "char_lm":
        from recipes.char_lm import main
        main(["--logdir", str(logdir), "--steps", str(steps)] if steps else ["--logdir", str(logdir)])
    else:
        from recipes.classify import main
        main(["--logdir", str(logdir)])
    (run_dir,) = [path.parent for path in pathlib.Path(logdir).rglob("config.json")]
    return run_dir


def exports(run_dir, base, batches):
    """{engine: folder} of a run exported every way."""
    folders = {"savedmodel": export_run(run_dir, base, "model")}
    for engine, quantize in (("litert", "none"), ("litert-float16", "float16"), ("litert-int8", "int8")):
        folders[engine], _ = export_deployable(run_dir, "litert", base / engine, "model", None, batches, quantize)
    folders["onnx"], _ = export_deployable(run_dir, "onnx", base, "model")
    return folders


def caller(engine, folder, signature, batch):
    """`call(inputs)` of `signature` in `engine` (for LiteRT, its file of `batch` rows)."""
    if engine == "savedmodel":
        function = tf.saved_model.load(str(folder)).signatures[signature]
        return lambda inputs: function(**{name: tf.constant(value) for name, value in inputs.items()})
    if engine.startswith("litert"):
        from ai_edge_litert.interpreter import Interpreter
        runner = Interpreter(model_path=str(folder / f"{signature}.b{batch}.tflite")).get_signature_runner(signature)
        return lambda inputs: runner(**inputs)
    import onnxruntime
    session = onnxruntime.InferenceSession(str(folder / f"{signature}.onnx"), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return lambda inputs: dict(zip(names, session.run(names, inputs)))


def latencies(folders, signature, batch, inputs, rounds, blocks):
    """{engine: (median seconds, lowest block median, highest block median)}."""
    calls = {engine: caller(engine, folder, signature, batch) for engine, folder in folders.items()}
    steps = {engine: (lambda n, call=call: call(inputs)) for engine, call in calls.items()}
    medians = [interleaved_seconds(steps, rounds) for _ in range(blocks)]
    return {engine: (statistics.median(m[engine] for m in medians), min(m[engine] for m in medians),
                     max(m[engine] for m in medians)) for engine in folders}


def size_of(engine, folder, signature):
    if engine == "savedmodel":
        return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return (folder / (f"{signature}.b1.tflite" if engine.startswith("litert") else f"{signature}.onnx")).stat().st_size


def bits_per_character(folders, run, characters):
    """{engine: bits per character} of serving_default over the validation text's start."""
    _, valid_text = split_corpus(load_corpus(run.config.data), run.config.validation_fraction)
    ids = run.assets.encode(valid_text[:characters + 1])[None, :]
    result = {}
    for engine, folder in folders.items():
        logits = np.asarray(caller(engine, folder, "serving_default", 1)({"token_ids": ids[:, :-1]})["logits"])[0]
        log_p = tf.nn.log_softmax(logits.astype(np.float64)).numpy()
        result[engine] = float(-log_p[np.arange(characters), ids[0, 1:]].mean() / np.log(2))
    return result


def accuracy(folders, run):
    """{engine: accuracy} of classify on the run's validation split, 32 rows a call."""
    data = run.task.prepare(run.config, run.assets)
    valid = data.valid
    result = {}
    for engine, folder in folders.items():
        call = caller(engine, folder, "classify", 32)
        predictions = []
        for start in range(0, len(valid.labels), 32):
            rows = np.arange(start, start + 32) % len(valid.labels)  # LiteRT: whole batches of 32
            answer = call({"features": valid.inputs[rows].astype(np.float32), "lengths": valid.lengths[rows]})
            predictions.append(np.asarray(answer["class_id"])[: min(32, len(valid.labels) - start)])
        result[engine] = float(np.mean(np.concatenate(predictions) == valid.labels))
    return result


def table(title, rows):
    print(f"\n{title}\n")
    print("| engine | " + " | ".join(rows[0][1]) + " |")
    print("| --- |" + " ---: |" * len(rows[0][1]))
    for engine, cells in rows:
        print(f"| {engine} | " + " | ".join(cells.values()) + " |")


def milliseconds(figure, base):
    median, low, high = figure
    return f"{1000 * median:.3f} ({1000 * low:.3f}-{1000 * high:.3f}), {base / median:.2f}x"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.deploy", description=__doc__.split("\n")[0])
    parser.add_argument("--char-lm", help="a char_lm run folder (default: train the default model here)")
    parser.add_argument("--classify", help="a classify run folder (default: train the default run here)")
    parser.add_argument("--lm-steps", type=int, default=200, help="updates of the char_lm run trained here")
    parser.add_argument("--rounds", type=int, default=200, help="calls per engine per block")
    parser.add_argument("--blocks", type=int, default=3, help="blocks of interleaved calls")
    parser.add_argument("--valid-chars", type=int, default=2000, help="validation characters scored")
    arguments = parser.parse_args(argv)
    print(f"TensorFlow {tf.__version__}, ai-edge-litert {version('ai-edge-litert')}, onnxruntime "
          f"{version('onnxruntime')}, tf2onnx {version('tf2onnx')}")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        lm_dir = arguments.char_lm or train_default("char_lm", scratch / "lm", arguments.lm_steps)
        classify_dir = arguments.classify or train_default("classify", scratch / "classify")
        lm, classify = restore_run(lm_dir), restore_run(classify_dir)
        lm_folders = exports(lm_dir, scratch / "lm-export", [1])
        classify_folders = exports(classify_dir, scratch / "classify-export", [1, 32])

        rng = np.random.default_rng(0)
        step_inputs = {"token_ids": np.array([[5]], np.int32),
                       **{spec.name: (0.5 * rng.standard_normal((1, int(spec.shape[-1])))).astype(np.float32)
                          for spec in lm.model.inputs[1:]}}
        step = latencies(lm_folders, "step", 1, step_inputs, arguments.rounds, arguments.blocks)
        bits = bits_per_character(lm_folders, lm, arguments.valid_chars)
        table(f"char_lm step, batch 1 ({lm_dir}): ms a call (block range), speed over the SavedModel; "
              f"bits per character on {arguments.valid_chars} validation characters", [
                  (engine, {"file bytes": f"{size_of(engine, lm_folders[engine], 'step'):,}",
                            "ms a step": milliseconds(step[engine], step["savedmodel"][0]),
                            "bits/char": f"{bits[engine]:.4f}",
                            "delta": f"{bits[engine] - bits['savedmodel']:+.4f}"}) for engine in ENGINES])

        valid = classify.task.prepare(classify.config, classify.assets).valid
        rows = {}
        for batch in (1, 32):
            picked = np.arange(batch) % len(valid.labels)
            inputs = {"features": valid.inputs[picked].astype(np.float32), "lengths": valid.lengths[picked]}
            rows[batch] = latencies(classify_folders, "classify", batch, inputs, arguments.rounds, arguments.blocks)
        scores = accuracy(classify_folders, classify)
        table(f"classify ({classify_dir}): ms a call (block range), speed over the SavedModel; validation "
              f"accuracy", [
                  (engine, {"file bytes": f"{size_of(engine, classify_folders[engine], 'classify'):,}",
                            "batch 1": milliseconds(rows[1][engine], rows[1]["savedmodel"][0]),
                            "batch 32": milliseconds(rows[32][engine], rows[32]["savedmodel"][0]),
                            "accuracy": f"{scores[engine]:.4f}",
                            "delta": f"{scores[engine] - scores['savedmodel']:+.4f}"}) for engine in ENGINES])


if __name__ == "__main__":
    main()
