"""Generation speed of the exported SavedModel against PyTorch eager generation, in one run.

    python -m benchmarks.generation [--units 256] [--layers 2] [--length 200] [--batch 1 16]

The recipe's default model shape (embedding 64, LSTM, vocabulary of the 95 printable ASCII
characters plus the unknown id), random weights. Exported with `export.export_model` and
loaded back with `tf.saved_model.load`, as a server would, then timed two ways:
`generate` (the whole loop in the graph: one call per request) and `step` driven from
Python (one call per character, as a client streaming characters would, drawing each
with `zoo.decoding.next_ids`, the sampler `generate` runs). The peer is the same model
in PyTorch, generating one character per eager call under `torch.inference_mode()`.
Prints characters per second and the ratios. These
machines are noisy: compare ratios, not absolutes.
"""

import argparse
import os
import string
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

from export.saved_model import export_model  # noqa: E402
from recipes.char_lm import TASK  # noqa: E402
from zoo.data.tokens import CharacterVocabulary  # noqa: E402
from zoo.decoding import next_ids  # noqa: E402
from zoo.models.language_model import build_language_model  # noqa: E402

EMBEDDING = 64
PROMPT = "The "


def rate(generate_once, characters, repeats=3):
    """Characters per second of the fastest of `repeats` timed runs, after one warm-up."""
    generate_once()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        generate_once()
        best = min(best, time.perf_counter() - started)
    return characters / best


def exported_rates(served, vocabulary, batch, length):
    """(generate, step) characters per second of a loaded SavedModel."""
    prompts = tf.constant([PROMPT.encode()] * batch)

    def by_generate():
        served.generate(prompt=prompts, max_length=tf.constant(length), temperature=tf.constant(1.0),
                        top_k=tf.constant(0), top_p=tf.constant(1.0),
                        seed=tf.constant(0, tf.int64))["text"].numpy()

    step = served.signatures["step"]
    state_names = [name for name in step.structured_input_signature[1] if name != "token_ids"]
    state_sizes = {name: step.structured_input_signature[1][name].shape[-1] for name in state_names}
    draw = tf.function(next_ids)

    def by_step():
        state = {name: tf.zeros([batch, size]) for name, size in state_sizes.items()}
        token = tf.fill([batch, 1], int(vocabulary.encode(PROMPT[-1])[0]))
        for i in range(length):
            result = step(token_ids=token, **state)
            state = {name: result[name] for name in state_names}
            token = draw(result["logits"][:, -1], tf.constant(1.0), tf.constant(0), tf.constant(1.0),
                         tf.constant(0, tf.int64), tf.constant(i))[:, None]

    return rate(by_generate, batch * length), rate(by_step, batch * length)


def torch_rate(vocab_size, units, layers, batch, length):
    import torch

    embedding = torch.nn.Embedding(vocab_size, EMBEDDING)
    lstm = torch.nn.LSTM(EMBEDDING, units, num_layers=layers, batch_first=True)
    output = torch.nn.Linear(units, vocab_size)
    generator = torch.Generator().manual_seed(0)

    def generate_once():
        with torch.inference_mode():
            token = torch.full((batch, 1), 1, dtype=torch.long)
            state = None
            for _ in range(length):
                hidden, state = lstm(embedding(token), state)
                probabilities = torch.softmax(output(hidden[:, -1]), dim=-1)
                token = torch.multinomial(probabilities, 1, generator=generator)

    return rate(generate_once, batch * length)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generation", description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--length", type=int, default=200, help="characters per request (default: %(default)s)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 16], help="requests per call")
    arguments = parser.parse_args(argv)
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    vocabulary = CharacterVocabulary(string.printable[:95])
    model = build_language_model(vocabulary.size, "lstm", arguments.units, arguments.layers, EMBEDDING)
    with tempfile.TemporaryDirectory() as export_dir:
        served = tf.saved_model.load(str(export_model(TASK, model, vocabulary, export_dir, "char_lm")))
        print(f"LSTM {arguments.layers} x {arguments.units}, embedding {EMBEDDING}, vocabulary "
              f"{vocabulary.size}, {arguments.length} characters per request; TF {tf.__version__}"
              + (f", PyTorch {torch_version}" if torch_version else ", PyTorch not installed"))
        print(f"{'batch':>5} {'generate ch/s':>13} {'step ch/s':>10} {'torch ch/s':>10} "
              f"{'generate/torch':>14} {'step/torch':>10}")
        for batch in arguments.batch:
            by_generate, by_step = exported_rates(served, vocabulary, batch, arguments.length)
            peer = (torch_rate(vocabulary.size, arguments.units, arguments.layers, batch, arguments.length)
                    if torch_version else float("nan"))
            print(f"{batch:5d} {by_generate:13.0f} {by_step:10.0f} {peer:10.0f} "
                  f"{by_generate / peer:14.2f} {by_step / peer:10.2f}", flush=True)


if __name__ == "__main__":
    main()
