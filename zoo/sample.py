"""Sample text from a trained run: `python -m zoo.sample --from RUN_DIR [options]`.

Rebuilds the model from the run folder (its config.json names the recipe) and loads the
newest checkpoint; works on finished and interrupted runs of any recipe whose model
generates text. The same request gives the same text as the exported `generate`
signature (both decode with `zoo.decoding`).
"""

from zoo.decoding.sampling import check_sampling
from zoo.run.config import OneLineParser, check_int_flag, exit_on_input_error
from zoo.run.folders import restore_run

# Characters one call samples: the sampler holds every draw (and TensorFlow's arrays
# are sized up front), so a length is bounded before anything is allocated.
MAX_SAMPLE_LENGTH = 100_000


def parse(argv):
    parser = OneLineParser(prog="python -m zoo.sample",
                           description="Generate text from a trained run's newest checkpoint.")
    parser.add_argument("--from", dest="run_dir", required=True, metavar="RUN_DIR",
                        help="run folder written by a recipe")
    parser.add_argument("--prompt", default="The ", help="text the sample continues (default: %(default)r)")
    parser.add_argument("--length", type=int, default=500, help="characters to sample (default: %(default)s)")
    parser.add_argument("--temperature", type=float, default=0.8,
                        help="softmax temperature, 0 for greedy (default: %(default)s)")
    parser.add_argument("--top-k", type=int, default=0,
                        help="sample among the k likeliest characters, 0 for all (default: %(default)s)")
    parser.add_argument("--top-p", type=float, default=1.0,
                        help="sample within the smallest set of characters of this mass (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same text (default: %(default)s)")
    arguments = parser.parse_args(argv)
    check_int_flag("--length", arguments.length, 1, MAX_SAMPLE_LENGTH)
    check_int_flag("--top-k", arguments.top_k, 0)
    check_int_flag("--seed", arguments.seed, 0, 2**63 - 1)
    check_sampling(arguments.temperature, arguments.top_k, arguments.top_p)
    return arguments


@exit_on_input_error
def main(argv=None):
    arguments = parse(argv)
    run = restore_run(arguments.run_dir)
    generate = run.task.generator(run.model, run.assets)
    print(generate(arguments.prompt, arguments.length, arguments.temperature, arguments.top_k,
                   arguments.top_p, arguments.seed))


if __name__ == "__main__":
    main()
