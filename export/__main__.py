"""`python -m export --from RUN_DIR [--format savedmodel|litert|onnx] [--export-dir DIR]
[--model-name NAME] [--version N] [--request-budget CELL_STEPS] [--batch-sizes 1,32]
[--quantize none|float16|int8]`, for a run of any recipe (docs/serving.md, docs/deploy.md)."""

from export.deploy import FORMATS, export_deployable
from export.litert import QUANTIZE
from export.saved_model import export_run
from zoo.run.config import OneLineParser, check_int_flag, exit_on_input_error
from zoo.run.errors import InputError

MAX_LITERT_BATCH = 256


def batch_sizes(text):
    """`--batch-sizes 1,32`: distinct positive integers, in the order given."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"--batch-sizes {text!r}: expected comma-separated integers, e.g. 1,32") from None
    if not sizes or len(set(sizes)) != len(sizes) or not all(1 <= size <= MAX_LITERT_BATCH for size in sizes):
        raise InputError(f"--batch-sizes {text!r}: expected distinct integers from 1 to {MAX_LITERT_BATCH}")
    return sizes


@exit_on_input_error
def main(argv=None):
    parser = OneLineParser(prog="python -m export",
                           description="Export a run's newest checkpoint for TensorFlow Serving (savedmodel), "
                                       "LiteRT or ONNX Runtime.")
    parser.add_argument("--from", dest="run_dir", required=True, metavar="RUN_DIR",
                        help="run folder written by a recipe (finished or interrupted)")
    parser.add_argument("--format", choices=FORMATS, default="savedmodel",
                        help="savedmodel (TF Serving, the default), litert or onnx (docs/deploy.md)")
    parser.add_argument("--export-dir", help="base folder of the export (default: RUN_DIR/export; litert and "
                                             "onnx files go under its <format>/ folder)")
    parser.add_argument("--model-name", help="model name (default: the run's own)")
    parser.add_argument("--version", type=int, help="integer version (default: the next free one)")
    parser.add_argument("--request-budget", type=int, metavar="CELL_STEPS",
                        help="savedmodel: the most work one request may cost (docs/serving.md; default: the run's "
                             "--request-budget, else the recipe's)")
    parser.add_argument("--batch-sizes", default="1", metavar="1,32",
                        help="litert: one file per batch size (its loops need a static batch; default 1)")
    parser.add_argument("--quantize", choices=QUANTIZE, default="none",
                        help="litert: none (float32), float16 weights or int8 dynamic range (default none)")
    arguments = parser.parse_args(argv)
    if arguments.version is not None:
        check_int_flag("--version", arguments.version, 1)
    if arguments.request_budget is not None:
        check_int_flag("--request-budget", arguments.request_budget, 0)
    sizes = batch_sizes(arguments.batch_sizes)
    if arguments.format == "savedmodel":
        if sizes != [1] or arguments.quantize != "none":
            raise InputError("--batch-sizes and --quantize: only for --format litert; a SavedModel takes any "
                             "batch in float32")
        path = export_run(arguments.run_dir, arguments.export_dir, arguments.model_name, arguments.version,
                          arguments.request_budget)
        model_name = path.parent.name
        print(f"exported: {path}")
        print(f"serve:    docker run -p 8501:8501 -v {path.parent.resolve()}:/models/{model_name} "
              f"-e MODEL_NAME={model_name} tensorflow/serving")
        return
    if arguments.request_budget is not None:
        raise InputError(f"--request-budget: only for --format savedmodel; a {arguments.format} file checks no "
                         "request (docs/deploy.md)")
    if arguments.format == "onnx" and sizes != [1]:
        raise InputError("--batch-sizes: only for --format litert; an ONNX file takes any batch")
    path, notes = export_deployable(arguments.run_dir, arguments.format, arguments.export_dir, arguments.model_name,
                                    arguments.version, sizes, arguments.quantize)
    for note in notes:
        print(note)
    print(f"exported: {path}")
    for file in sorted(path.iterdir()):
        print(f"          {file.name} ({file.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
