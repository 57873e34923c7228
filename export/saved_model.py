"""Export a trained language model as a TF Serving version folder.

    <export_dir>/<model_name>/<version>/
        saved_model.pb, variables/        the three signatures of `export.signatures`
        assets/vocabulary.txt             one Unicode code point per line (id = line + 1)
        assets.extra/tf_serving_warmup_requests   one request per signature

Loadable with no project code: TF Serving, `saved_model_cli`, `tf.saved_model.load`.
"""

import pathlib
import tempfile

import numpy as np
import tensorflow as tf

from export.layout import write_version
from export.signatures import LanguageModelServer
from export.warmup import prediction_log, write_warmup
from zoo.recurrent_layer import portable_kernels
from zoo.training import restore_model

VOCABULARY_ASSET = "vocabulary.txt"
WARMUP_PROMPT = "The "


def warmup_requests(model_name, server, vocabulary):
    """One real request per signature, as TF Serving PredictionLogs."""
    ids = vocabulary.encode(WARMUP_PROMPT)[None, :]
    zero_state = {name: np.zeros((1, spec.shape[-1]), np.float32)
                  for name, spec in zip(server.state_names, server.model.inputs[1:])}
    return [
        prediction_log(model_name, "serving_default", {"token_ids": ids}),
        prediction_log(model_name, "step", {"token_ids": ids[:, -1:], **zero_state}),
        prediction_log(model_name, "generate", {
            "prompt": np.array([WARMUP_PROMPT.encode()]), "max_length": np.int32(8),
            "temperature": np.float32(1.0), "top_k": np.int32(0), "seed": np.int64(0)}),
    ]


def export_model(model, vocabulary, export_dir, model_name="char_lm", version=None):
    """Write `model` as a new version under `export_dir/model_name`; returns its folder."""

    def write(folder):
        with tempfile.TemporaryDirectory() as scratch:
            codepoints = pathlib.Path(scratch) / VOCABULARY_ASSET
            codepoints.write_text("".join(f"{ord(ch)}\n" for ch in vocabulary.characters))
            # Traced without cuDNN kernels: TF Serving may run the export on a CPU.
            with portable_kernels():
                server = LanguageModelServer(model, codepoints, vocabulary.size)
                tf.saved_model.save(server, str(folder), signatures=server.signatures())
        write_warmup(folder / "assets.extra", warmup_requests(model_name, server, vocabulary))

    return write_version(pathlib.Path(export_dir) / model_name, write, version)


def export_run(run_dir, export_dir=None, model_name="char_lm", version=None):
    """Export the newest checkpoint of a run (finished or interrupted)."""
    _, vocabulary, model = restore_model(run_dir)
    export_dir = export_dir or pathlib.Path(run_dir) / "export"
    return export_model(model, vocabulary, export_dir, model_name, version)
