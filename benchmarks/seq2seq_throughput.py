"""Training throughput and `translate` latency of the seq2seq recipe's model against the
same encoder-decoder in PyTorch, in one invocation.

    python -m benchmarks.seq2seq_throughput                 # the recipe's default model, dates
    python -m benchmarks.seq2seq_throughput --units 256 --rounds 40

The PyTorch twin is the recipe's model written with `torch.nn`: a bidirectional `nn.GRU`
encoder over packed sequences, a tanh bridge from both final states, an `nn.GRU`
decoder, additive attention with padded source steps masked, tanh(W_c [c; h]) and a
softmax layer. Both train without dropout, with Adam and global-norm clipping at 1, on
the same date batches (64 pairs); a step is a whole update.

For latency the zoo model is trained a little further (so that decodes end), exported,
and its weights are copied into the twin, which must then decode the same strings: the
two search the same hypotheses, and the latency compares the searches, not luck. The zoo
figure is the exported `translate` signature (strings in, strings out: lookup, encoder,
the whole search in the graph); the twin's is eager PyTorch under `torch.no_grad()`, its
greedy search and a batched beam search with GNMT's length penalty, both stopping when
every row has ended, with the strings converted in Python. The peers take turns and each
figure is a median (`benchmarks.peers.interleaved_seconds`).
"""

import argparse
import dataclasses
import tempfile

import keras
import numpy as np
import tensorflow as tf

from benchmarks.peers import interleaved_seconds, torch_update, torch_version
from export.saved_model import export_model
from recipes.seq2seq import TASK, Seq2SeqConfig
from zoo.data.tokens import END, PAD_UNKNOWN_START_END, SPECIAL_TOKENS, START, decode, encode
from zoo.training.loop import build_optimizer

WINDOWS = 4  # distinct batches each peer cycles through
LATENCY_BATCHES, BEAMS = (1, 32), (1, 5)


def batches(pairs, batch, count=WINDOWS):
    rng = np.random.default_rng(0)
    rows = [rng.choice(len(pairs.texts), batch, replace=False) for _ in range(count)]
    return [(pairs.source[r], pairs.source_lengths[r], pairs.target_in[r], pairs.target_out[r]) for r in rows]


def zoo_trainer(rule, windows):
    def step(n):
        float(rule.train_step(*[tf.constant(a) for a in windows[n % WINDOWS]])["loss"])

    return step


class TorchTwin:
    """The recipe's encoder-decoder (GRU, bidirectional encoder, additive attention) in PyTorch."""

    def __init__(self, source_vocab, target_vocab, units, embedding_dim):
        import torch
        nn = torch.nn
        self.torch, self.units = torch, units
        self.source_embedding = nn.Embedding(source_vocab, embedding_dim)
        self.target_embedding = nn.Embedding(target_vocab, embedding_dim)
        self.encoder = nn.GRU(embedding_dim, units, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * units, units)
        self.decoder = nn.GRU(embedding_dim, units, batch_first=True)
        self.query = nn.Linear(units, units, bias=False)
        self.key = nn.Linear(2 * units, units, bias=False)
        self.score = nn.Linear(units, 1, bias=False)
        self.attentional = nn.Linear(3 * units, units, bias=False)
        self.output = nn.Linear(units, target_vocab)
        self.modules = nn.ModuleList([self.source_embedding, self.target_embedding, self.encoder, self.bridge,
                                      self.decoder, self.query, self.key, self.score, self.attentional, self.output])

    def encode(self, source, lengths):
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        packed = pack_padded_sequence(self.source_embedding(source), lengths, batch_first=True, enforce_sorted=False)
        outputs, final = self.encoder(packed)
        memory, _ = pad_packed_sequence(outputs, batch_first=True, total_length=source.shape[1])
        state = self.torch.tanh(self.bridge(self.torch.cat([final[0], final[1]], dim=-1)))[None]
        mask = self.torch.arange(source.shape[1])[None, :] < lengths[:, None]
        return memory, mask, state, self.key(memory)

    def decode(self, target_in, state, memory, mask, keys):
        hidden, state = self.decoder(self.target_embedding(target_in), state)
        scores = self.score(self.torch.tanh(self.query(hidden)[:, :, None, :] + keys[:, None, :, :]))[..., 0]
        weights = self.torch.softmax(scores.masked_fill(~mask[:, None, :], -1e9), dim=-1)
        context = weights @ memory
        return self.output(self.torch.tanh(self.attentional(self.torch.cat([context, hidden], dim=-1)))), state

    def trainer(self, windows, lr):
        torch = self.torch
        optimizer = torch.optim.Adam(self.modules.parameters(), lr)
        prepared = [tuple(torch.from_numpy(a.astype(np.int64)) for a in window) for window in windows]

        def step(n):
            source, lengths, target_in, target_out = prepared[n % WINDOWS]
            memory, mask, state, keys = self.encode(source, lengths)
            logits, _ = self.decode(target_in, state, memory, mask, keys)
            losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target_out, reduction="none")
            weights = (target_out != 0).float()
            loss = (losses * weights).sum() / weights.sum()
            torch_update(optimizer, self.modules, loss)

        return step

    def search(self, source, lengths, beam_width, max_length, alpha):
        """(ids [batch, max_length], lengths [batch]) of the best hypothesis; eager."""
        torch = self.torch
        with torch.no_grad():
            memory, mask, state, keys = self.encode(source, lengths)
            batch = source.shape[0]
            tile = lambda t, dim=0: t.repeat_interleave(beam_width, dim=dim)
            memory, mask, keys, state = tile(memory), tile(mask), tile(keys), tile(state, 1)
            tokens = torch.full((batch * beam_width,), START, dtype=torch.long)
            log_p = torch.full((batch, beam_width), -float("inf"))
            log_p[:, 0] = 0.0
            ids = torch.full((batch, beam_width, max_length), END, dtype=torch.long)
            counts = torch.zeros(batch, beam_width, dtype=torch.long)
            finished = torch.zeros(batch, beam_width, dtype=torch.bool)
            rows = torch.arange(batch)[:, None]
            for t in range(max_length):
                logits, state = self.decode(tokens[:, None], state, memory, mask, keys)
                step = torch.log_softmax(logits[:, 0], -1).view(batch, beam_width, -1)
                vocab = step.shape[-1]
                only_end = torch.full((vocab,), -float("inf"))
                only_end[END] = 0.0
                step = torch.where(finished[..., None], only_end, step)
                candidates = log_p[..., None] + step
                candidate_counts = counts + (~finished).long()
                penalty = ((5.0 + candidate_counts.float()) / 6.0) ** alpha
                _, best = (candidates / penalty[..., None]).view(batch, -1).topk(beam_width, dim=-1)
                parent, token = best // vocab, best % vocab
                log_p = candidates.view(batch, -1).gather(1, best)
                counts = candidate_counts.gather(1, parent)
                finished = finished.gather(1, parent) | (token == END)
                ids = ids[rows, parent]
                ids[:, :, t] = token
                flat = (parent + beam_width * rows).view(-1)
                state, tokens = state[:, flat], token.view(-1)
                if bool(finished.all()):
                    break
            scores = log_p / ((5.0 + counts.float()) / 6.0) ** alpha
            best = scores.argmax(-1)
            return ids[torch.arange(batch), best], counts[torch.arange(batch), best]

    def copy_from(self, model):
        """Take the zoo model's weights (Keras GRU gates z, r, h; PyTorch's r, z, n)."""
        torch = self.torch
        tensor = lambda v: torch.from_numpy(np.ascontiguousarray(v.numpy() if hasattr(v, "numpy") else v))
        gates = lambda w: np.concatenate([w[..., self.units:2 * self.units], w[..., :self.units],
                                          w[..., 2 * self.units:]], axis=-1)

        def gru(cell, torch_gru, suffix):
            getattr(torch_gru, f"weight_ih_l0{suffix}").data = tensor(gates(cell.kernel.numpy()).T)
            getattr(torch_gru, f"weight_hh_l0{suffix}").data = tensor(gates(cell.recurrent_kernel.numpy()).T)
            getattr(torch_gru, f"bias_ih_l0{suffix}").data = tensor(gates(cell.bias.numpy()[0]))
            getattr(torch_gru, f"bias_hh_l0{suffix}").data = tensor(gates(cell.bias.numpy()[1]))

        encoder = model.encoder[0]
        gru(encoder.forward_layer.cell, self.encoder, "")
        gru(encoder.backward_layer.cell, self.encoder, "_reverse")
        gru(model.decoder[0].cell, self.decoder, "")
        self.source_embedding.weight.data = tensor(model.source_embedding.embeddings)
        self.target_embedding.weight.data = tensor(model.target_embedding.embeddings)
        self.bridge.weight.data = tensor(model.bridge.kernel.numpy().T)
        self.bridge.bias.data = tensor(model.bridge.bias)
        attention = model.attention
        self.query.weight.data = tensor(attention.query_weight.numpy().T)
        self.key.weight.data = tensor(attention.memory_weight.numpy().T)
        self.score.weight.data = tensor(attention.score_vector.numpy()[None])
        self.attentional.weight.data = tensor(model.attentional.kernel.numpy().T)
        self.output.weight.data = tensor(model.output_layer.kernel.numpy().T)
        self.output.bias.data = tensor(model.output_layer.bias)


@dataclasses.dataclass
class Latency:
    zoo: float
    torch: float
    agree: float  # share of rows where the two decoded the same string


def latencies(served, twin, assets, pairs, config, rounds):
    """{(batch, beam): Latency} of `translate` and the twin's search on test sources."""
    torch = twin.torch
    results = {}
    for batch in LATENCY_BATCHES:
        sources = [s for s, _ in pairs.texts[:batch]]
        for beam in BEAMS:
            def zoo(n, sources=sources, beam=beam):
                return [t.decode() for t in served(sources=tf.constant(sources), beam_width=tf.constant(beam),
                                                   max_length=tf.constant(config.max_length))["translations"].numpy()]

            def peer(n, sources=sources, beam=beam):
                ids, lengths = encode(sources, assets["source"], assets["tokens"], PAD_UNKNOWN_START_END)
                tokens, counts = twin.search(torch.from_numpy(ids.astype(np.int64)),
                                             torch.from_numpy(lengths.astype(np.int64)), beam, config.max_length,
                                             config.alpha)
                return decode(tokens.numpy(), counts.numpy(), assets["target"], assets["tokens"])

            agree = float(np.mean([a == b for a, b in zip(zoo(0), peer(0))]))
            seconds = interleaved_seconds({"zoo": zoo, "torch": peer}, rounds)
            results[batch, beam] = Latency(seconds["zoo"], seconds["torch"], agree)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.seq2seq_throughput",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=30, help="timed steps per peer (default: %(default)s)")
    parser.add_argument("--train-steps", type=int, default=400,
                        help="updates of the zoo model before the latency runs (default: %(default)s)")
    arguments = parser.parse_args(argv)
    if torch_version() is None:
        raise SystemExit("benchmarks.seq2seq_throughput compares with PyTorch: pip install torch")
    import torch

    torch.set_num_threads(tf.config.threading.get_intra_op_parallelism_threads() or torch.get_num_threads())
    torch.manual_seed(0)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, PyTorch {torch.__version__}")
    config = Seq2SeqConfig(units=arguments.units, batch_size=arguments.batch, dropout=0.0, train_pairs=20000)
    data = TASK.prepare(config)
    windows = batches(data.train, config.batch_size)
    model = TASK.build_model(config, data.assets)
    rule = TASK.update_rule(config, model, build_optimizer(config), data)
    special = len(SPECIAL_TOKENS)
    twin = TorchTwin(len(data.assets["source"]) + special, len(data.assets["target"]) + special, config.units,
                     config.embedding_dim)
    seconds = interleaved_seconds({"zoo": zoo_trainer(rule, windows), "torch": twin.trainer(windows, config.lr)},
                                  arguments.rounds)
    rate = {name: config.batch_size / s for name, s in seconds.items()}
    print(f"training, {config.units} units, batch {config.batch_size}: zoo {rate['zoo']:.0f} pairs/s, "
          f"PyTorch {rate['torch']:.0f} pairs/s, zoo/PyTorch {rate['zoo'] / rate['torch']:.2f}", flush=True)

    trained = 0
    while trained < arguments.train_steps:
        for _, batch in zip(range(arguments.train_steps - trained), rule.batches()):
            rule.train_step(*batch)
            trained += 1
    twin.copy_from(model)
    with tempfile.TemporaryDirectory() as folder:
        inference = TASK.build_model(config, data.assets, inference=True)
        inference.set_weights(model.get_weights())
        version = export_model(TASK, inference, data.assets, folder, "seq2seq")
        served = tf.saved_model.load(str(version)).signatures["translate"]
        table = latencies(served, twin, data.assets, data.test, config, arguments.rounds)
    print(f"{'batch':>5} {'beam':>4} {'zoo ms':>8} {'torch ms':>8} {'torch/zoo':>9} {'same decodes':>12}")
    for (batch, beam), latency in table.items():
        print(f"{batch:5d} {beam:4d} {1e3 * latency.zoo:8.1f} {1e3 * latency.torch:8.1f} "
              f"{latency.torch / latency.zoo:9.2f} {latency.agree:12.0%}", flush=True)


if __name__ == "__main__":
    main()
