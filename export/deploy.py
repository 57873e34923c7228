"""Export a run for LiteRT or ONNX Runtime, every file checked in its own runtime.

    RUN/export/<format>/<model_name>/<version>/     beside the SavedModels, never in the
        <signature>.b<batch>.tflite                 folder TF Serving polls (RUN/export/<model>)
        <signature>.onnx
        deploy.json                                 what each file takes and returns, what
                                                    the app must check, the vocabulary or
                                                    labels, and each file's measured error

The recipe's task gives the id-input forms (`export.portable`); each is written as a
SavedModel (rows fixed to each batch size for LiteRT, whose loops need a static batch;
free for ONNX), converted, then run in the runtime on a valid request and compared with
the SavedModel's answer: a float32 file that differs by more than TOLERANCE anywhere, or
any file that answers a non-finite value, fails the export. A quantised LiteRT file's
error is recorded, not bounded (docs/deploy.md has its cost on validation data). The
version appears complete or not at all (`export.versions`).
"""

import json
import pathlib
import sys
import tempfile

import numpy as np
import tensorflow as tf

from export import litert, onnx_format
from export.portable import saved_portable
from export.versions import write_version
from zoo.run.console import captured_native_stderr
from zoo.run.errors import InputError, disk_full_error, is_disk_full
from zoo.run.folders import restore_run
from zoo.run.paths import check_writable_folder

FORMATS = ("savedmodel", "litert", "onnx")
MANIFEST = "deploy.json"
TOLERANCE = 1e-5
EXAMPLE_SEED = 0
ONNX_EXAMPLE_BATCH = 2


def file_name(signature, format_name, batch):
    return f"{signature}.b{batch}.tflite" if format_name == "litert" else f"{signature}.onnx"


def export_deployable(run_dir, format_name, export_dir=None, model_name=None, version=None, batch_sizes=(1,),
                      quantize="none"):
    """Write a version of the run's id-input signatures in `format_name` ("litert" or
    "onnx"); returns (its folder, one line per served signature the format lacks)."""
    if quantize != "none" and format_name != "litert":
        raise InputError(f"--quantize {quantize}: only for --format litert; expected none for {format_name}")
    base = pathlib.Path(export_dir) if export_dir else pathlib.Path(run_dir) / "export"
    check_writable_folder(base, "--export-dir")
    run = restore_run(run_dir)
    forms = run.task.portable_signatures(run.model, run.assets)
    model_name = model_name or run.config.model_name or run.task.name
    if forms is None:
        raise InputError(f"{run_dir}: {run.task.module} names no signature for {format_name}; expected a recipe "
                         "with id-input forms (docs/deploy.md)")
    notes = [f"{name}: not in {format_name} ({reason})" for name, reason in forms.refused.items()]
    if not forms.signatures:
        raise InputError(f"{run_dir}: nothing to export; " + "; ".join(notes))
    batches = list(batch_sizes) if format_name == "litert" else [None]

    def write(folder):
        folder.mkdir()
        signatures = {}
        with tempfile.TemporaryDirectory() as scratch:
            for batch in batches:
                saved = saved_portable(forms.signatures, batch, pathlib.Path(scratch) / f"rows-{batch}")
                loaded = tf.saved_model.load(str(saved))
                for portable in forms.signatures:
                    entry = signatures.setdefault(portable.name, {
                        "inputs": portable.described_inputs(), "app_checks": portable.app_checks, "files": {}})
                    name = file_name(portable.name, format_name, batch)
                    data, error = _quietly_converted(format_name, saved, loaded, portable, batch, quantize)
                    (folder / name).write_bytes(data)
                    entry["outputs"] = error["outputs"]
                    entry["files"][name] = {"batch": batch or "any", "bytes": len(data),
                                            "max_abs_error": error["max_abs_error"]}
        manifest = {"format": format_name, "quantize": quantize, "recipe": run.task.name,
                    "tolerance": TOLERANCE if quantize == "none" else None, "signatures": signatures,
                    "not_included": forms.refused, **forms.metadata}
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    try:
        return write_version(base / format_name / model_name, write, version), notes
    except Exception as error:
        if not is_disk_full(error):
            raise
        raise disk_full_error(f"{base} (the {format_name} export of {run_dir}; nothing of it was left there)",
                              f"export it: python -m export --format {format_name} --from {run_dir}") from None


def _quietly_converted(*arguments):
    """`_converted`, with what the converters and runtimes print (the MLIR diagnostics and
    the tf2onnx log of a failed conversion, deprecation notes, the XNNPACK notice) kept
    off the console: a failure is the one line of its InputError; `--verbose` shows the
    rest."""
    lines = []
    try:
        with captured_native_stderr() as lines:
            return _converted(*arguments)
    finally:
        if "--verbose" in sys.argv:
            sys.stderr.writelines(lines)


def _converted(format_name, saved, loaded, portable, batch, quantize):
    """(the file's bytes, {"outputs", "max_abs_error"}) of one signature, after running
    the file in its runtime against the SavedModel (see the module docstring)."""
    inputs = portable.example(batch or ONNX_EXAMPLE_BATCH, np.random.default_rng(EXAMPLE_SEED))
    expected = {name: value.numpy() for name, value in loaded.signatures[portable.name](
        **{name: tf.constant(value) for name, value in inputs.items()}).items()}
    if format_name == "litert":
        data = litert.convert(saved, portable.name, quantize)
        answered = litert.run(data, portable.name, inputs)
        renamed = {name: name for name in expected}
    else:
        data = onnx_format.convert(saved, portable.name).SerializeToString()
        answered = onnx_format.run(data, inputs)
        renamed = {name: onnx_format.output_name(name, portable.inputs) for name in expected}
    errors = {}
    for name, value in expected.items():
        got = answered[renamed[name]]
        if got.shape != value.shape or not np.all(np.isfinite(got.astype(np.float64))):
            raise InputError(f"{portable.name}: the {format_name} file answers {name} of shape {got.shape} "
                             f"{'with non-finite values ' if got.shape == value.shape else ''}where the "
                             f"SavedModel answers {value.shape}; nothing was written")
        errors[name] = float(np.max(np.abs(got.astype(np.float64) - value.astype(np.float64)), initial=0.0))
    worst = max(errors.values(), default=0.0)
    if quantize == "none" and worst > TOLERANCE:
        name = max(errors, key=errors.get)
        raise InputError(f"{portable.name}: the {format_name} file's {name} differs from the SavedModel's by "
                         f"{worst:.3g} (expected at most {TOLERANCE}); nothing was written")
    return data, {"outputs": {name: renamed[name] for name in expected}, "max_abs_error": errors}
