"""`python -m export --from RUN_DIR [--export-dir DIR] [--model-name NAME] [--version N]
[--request-budget CELL_STEPS]`, for a run of any recipe."""

from export.saved_model import export_run
from zoo.run.config import OneLineParser, check_int_flag, exit_on_input_error


@exit_on_input_error
def main(argv=None):
    parser = OneLineParser(prog="python -m export",
                           description="Export a run's newest checkpoint for TensorFlow Serving.")
    parser.add_argument("--from", dest="run_dir", required=True, metavar="RUN_DIR",
                        help="run folder written by a recipe (finished or interrupted)")
    parser.add_argument("--export-dir", help="base folder of the export (default: RUN_DIR/export)")
    parser.add_argument("--model-name", help="TF Serving model name (default: the run's own)")
    parser.add_argument("--version", type=int, help="integer version (default: the next free one)")
    parser.add_argument("--request-budget", type=int, metavar="CELL_STEPS",
                        help="the most work one request may cost (docs/serving.md; default: the run's "
                             "--request-budget, else the recipe's)")
    arguments = parser.parse_args(argv)
    if arguments.version is not None:
        check_int_flag("--version", arguments.version, 1)
    if arguments.request_budget is not None:
        check_int_flag("--request-budget", arguments.request_budget, 0)
    path = export_run(arguments.run_dir, arguments.export_dir, arguments.model_name, arguments.version,
                      arguments.request_budget)
    model_name = path.parent.name
    print(f"exported: {path}")
    print(f"serve:    docker run -p 8501:8501 -v {path.parent.resolve()}:/models/{model_name} "
          f"-e MODEL_NAME={model_name} tensorflow/serving")


if __name__ == "__main__":
    main()
