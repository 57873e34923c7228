"""Character-level language model trained with stateful TBPTT(k1, k2).

    python -m recipes.char_lm                      # default corpus and model, ~5 min on 2 cores
    python -m recipes.char_lm --smoke              # a tiny configuration, seconds
    python -m recipes.char_lm --data notes.txt --cell gru --k1 50 --k2 100
    python -m recipes.char_lm --resume runs/RUN    # continue a run from its newest checkpoint
    python -m zoo.sample --from runs/RUN --prompt "The "   # sample from a trained run

Every run gets a folder under --logdir with config.json, vocabulary.json, checkpoints/
and TensorBoard events: `tensorboard --logdir runs`.
"""

import dataclasses
import sys

from export.saved_model import export_run
from zoo.config import (OneLineParser, add_config_flags, check_config, config_overrides,
                        exit_on_input_error, setting)
from zoo.cpu_allocator import keep_freed_memory_in_process
from zoo.errors import InputError
from zoo.interrupts import StopOnSignal
from zoo.training import TrainingDiverged, load_run, train_and_evaluate


@dataclasses.dataclass(frozen=True)
class CharLMConfig:
    data: str = setting("default", "corpus: a text file, folder, glob or tfds:NAME; 'default' is "
                        "the Python documentation shipped with every CPython, so it needs no network")
    validation_fraction: float = setting(0.05, "last share of the corpus held out for validation; "
                                         "5% of the default corpus is ~23k characters, enough "
                                         "for a stable bits-per-char estimate", above=0.0, below=0.5)
    cell: str = setting("lstm", "recurrent cell; the LSTM learns the longest dependencies of the "
                        "three", choices=("lstm", "gru", "elman"))
    units: int = setting(256, "hidden size; 256 trains the default run within minutes on 2 cores",
                         minimum=1, maximum=8192)
    layers: int = setting(2, "stacked recurrent layers; two beat one at equal time on text",
                          minimum=1, maximum=16)
    embedding_dim: int = setting(64, "character embedding size; ~100 characters need few dimensions",
                                 minimum=1, maximum=4096)
    dropout: float = setting(0.1, "variational dropout on each layer's input and before the "
                             "output; light, as a short run barely overfits", minimum=0.0, below=1.0)
    batch_size: int = setting(64, "parallel streams; 64 keeps the matmuls large enough to run near "
                              "the CPU's peak", minimum=1, maximum=65536)
    k1: int = setting(100, "TBPTT: steps between updates (and steps scored per window)",
                      minimum=1, maximum=100000)
    k2: int = setting(100, "TBPTT: steps backpropagated per update (k2 >= k1; k2 == k1 is "
                      "ordinary stateful training, the cheapest per character)",
                      minimum=1, maximum=100000)
    steps: int = setting(800, "parameter updates; 800 x 64 x 100 = 5.1M characters, about 12 "
                         "epochs of the default corpus, in 5 to 10 minutes on 2 cores", minimum=1)
    optimizer: str = setting("adam", "adam adapts per weight and needs no tuning here; sgd has "
                             "momentum 0.9", choices=("adam", "sgd"))
    lr: float = setting(3e-3, "peak learning rate; Adam is stable at 3e-3 with norm clipping",
                        above=0.0, maximum=10.0)
    lr_schedule: str = setting("cosine", "cosine decay to 10% after warm-up; constant keeps --lr",
                               choices=("cosine", "constant"))
    warmup_steps: int = setting(50, "linear warm-up, so Adam's first steps do not overshoot",
                                minimum=0)
    clip_norm: float = setting(1.0, "clip gradients to this global norm (0: off); guards against "
                               "exploding gradients through time", minimum=0.0)
    clip_value: float = setting(0.0, "clip each gradient entry to +-value before the norm clip "
                                "(0: off)", minimum=0.0)
    seed: int = setting(0, "seed of weights, dropout and samples; same seed, same run", minimum=0)
    validate_every: int = setting(250, "steps between validations (and samples, gradient-flow "
                                  "plots)", minimum=1)
    checkpoint_every: int = setting(100, "steps between checkpoints; at most this many are lost "
                                    "when a run dies", minimum=1)
    histogram_every: int = setting(100, "steps between weight and gradient histograms", minimum=1)
    max_bad_steps: int = setting(5, "consecutive non-finite updates (skipped) before the run stops",
                                 minimum=1)
    sample_prompt: str = setting("The ", "prompt of the samples shown at validation and at the end")
    sample_length: int = setting(300, "characters sampled after the prompt", minimum=0,
                                 maximum=100000)
    sample_temperature: float = setting(0.8, "sampling temperature; below 1 favours likely "
                                        "characters (0: greedy)", minimum=0.0)
    logdir: str = setting("runs", "folder that holds one folder per run")
    export_dir: str = setting("", "base folder of the SavedModel export written at the end; empty: "
                              "RUN_DIR/export, so a run folder is self-contained")
    model_name: str = setting("char_lm", "TF Serving model name (the export's subfolder)")
    jit_compile: bool = setting(False, "compile the update with XLA; slower on CPU here, try it "
                                "on a GPU")

    def __post_init__(self):
        check_config(self)
        if self.k2 < self.k1:
            raise InputError(f"--k2 must be >= --k1, received k1={self.k1}, k2={self.k2}")
        if not self.sample_prompt:
            raise InputError("--sample-prompt must hold at least one character")


# `--smoke`: the same job at a size that runs in seconds, for a first look and for tests.
SMOKE = dict(units=32, layers=1, embedding_dim=16, batch_size=8, k1=20, k2=30, steps=40,
             warmup_steps=5, validate_every=20, checkpoint_every=10, histogram_every=10,
             sample_length=60)


def parse(argv):
    parser = OneLineParser(prog="python -m recipes.char_lm",
                           description="Train a character language model with stateful TBPTT.")
    add_config_flags(parser, CharLMConfig)
    parser.add_argument("--smoke", action="store_true", help="tiny configuration, runs in seconds")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue RUN_DIR from its newest checkpoint (only --steps may change)")
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    keep_freed_memory_in_process()
    arguments = parse(argv)
    overrides = config_overrides(arguments, CharLMConfig)
    run_dir, vocabulary = None, None
    if arguments.resume:
        config, vocabulary = load_run(arguments.resume, CharLMConfig)
        if set(overrides) - {"steps"}:
            raise InputError("--resume continues with the run's saved configuration; only "
                             "--steps may be given with it")
        config = dataclasses.replace(config, **overrides)
        run_dir = arguments.resume
    else:
        config = CharLMConfig(**{**(SMOKE if arguments.smoke else {}), **overrides})
    with StopOnSignal() as stop:
        try:
            result = train_and_evaluate(config, run_dir, resume_vocabulary=vocabulary,
                                        stop_requested=stop)
        except TrainingDiverged as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(1) from None
    if result["stopped"]:
        print(f"stopped by {stop.signal_name} after step {result['steps']}; checkpoint in "
              f"{result['checkpoints']}")
        print(f"resume: python -m recipes.char_lm --resume {result['run_dir']}")
        return
    exported = export_run(result["run_dir"], config.export_dir or None, config.model_name)
    print(f"\nvalidation: {result['valid/bits_per_char']:.3f} bits per character, "
          f"perplexity {result['valid/perplexity']:.2f} after {result['steps']} steps")
    print(f"sample:\n{result['sample']}\n")
    print(f"run folder:  {result['run_dir']}")
    print(f"checkpoints: {result['checkpoints']}")
    print(f"TensorBoard: tensorboard --logdir {result['run_dir'].parent}")
    print(f"export:      {exported}")
    print(f"resume:      python -m recipes.char_lm --resume {result['run_dir']} --steps N")
    print(f"sample more: python -m zoo.sample --from {result['run_dir']}")


if __name__ == "__main__":
    main()
