"""Export a run's model as a TF Serving version folder, for any recipe.

    <export_dir>/<model_name>/<version>/
        saved_model.pb, variables/        the signatures of the task's serving module
        assets/                           what the graph reads (vocabularies, ...)
        assets.extra/tf_serving_warmup_requests   one request per signature

The recipe's task builds the served module (`task.serving(model, assets, folder)`, an
`export.serving.ServingModule`); this module writes it. Loadable with no project code:
TF Serving, `saved_model_cli`, `tf.saved_model.load`.
"""

import pathlib
import tempfile

import tensorflow as tf

from export.versions import write_version
from export.warmup import prediction_log, write_warmup
from zoo.layers.recurrent import portable_kernels
from zoo.run.errors import disk_full_error, is_disk_full
from zoo.run.folders import restore_run
from zoo.run.paths import check_writable_folder


def export_model(task, model, assets, export_dir, model_name, version=None, budget=0):
    """Write `model` as a new version under `export_dir/model_name`, admitting requests of
    at most `budget` cell steps (0: the served module's default); returns its folder."""

    def write(folder):
        with tempfile.TemporaryDirectory() as scratch:
            # Traced without cuDNN kernels: TF Serving may run the export on a CPU.
            with portable_kernels():
                server = task.serving(model, assets, pathlib.Path(scratch), budget)
                tf.saved_model.save(server, str(folder), signatures=server.signatures())
        write_warmup(folder / "assets.extra", [
            prediction_log(model_name, signature, inputs)
            for signature, inputs in server.warmup_requests()])

    return write_version(pathlib.Path(export_dir) / model_name, write, version)


def export_run(run_dir, export_dir=None, model_name=None, version=None, budget=None):
    """Export the newest checkpoint of a run (finished or interrupted) of any recipe.

    `model_name` None takes the run's own (its config's `model_name`, else its recipe's
    name); `export_dir` None exports into RUN_DIR/export; `budget` None takes the run's
    `request_budget`.
    """
    export_dir = export_dir or pathlib.Path(run_dir) / "export"
    check_writable_folder(export_dir, "--export-dir")
    run = restore_run(run_dir)
    model_name = model_name or run.config.model_name or run.task.name
    try:
        budget = run.config.request_budget if budget is None else budget
        return export_model(run.task, run.model, run.assets, export_dir, model_name, version, budget)
    except Exception as error:
        if not is_disk_full(error):
            raise
        raise disk_full_error(f"{export_dir} (the export of {run_dir}; nothing of it was left there)",
                              f"export it: python -m export --from {run_dir}") from None
