"""The char_lm recipe written in PyTorch, as a peer for `benchmarks.same_time`.

The same job as `python -m recipes.char_lm` from a `CharLMConfig`: the same corpus,
split, vocabulary and streams (made by the zoo's own data functions), an embedding,
stacked one-layer `nn.LSTM`s with variational dropout on each layer's input (one mask
per row and window, as the zoo's cells draw it), dropout before the output layer,
stateful TBPTT with k1 == k2 (the state carried from window to window with its gradient
cut), Adam with a linear warm-up from 0 and cosine decay to 10%, global-norm clipping,
and the forget-gate bias at `forget_bias`. Validation is the zoo's: the mean loss over
tiling k1 windows of the validation streams, from zero state.

    lr(i) = lr * i / warmup                                           i < warmup
    lr(i) = lr * (0.1 + 0.9 * (1 + cos(pi * (i - warmup) / (steps - warmup))) / 2)   after

i counts the updates already made, as Keras' `CosineDecay` with `warmup_target` does.

Initialisation is PyTorch's own (embedding N(0, 1); LSTM and output weights and biases
U(-1/sqrt(fan), 1/sqrt(fan))), then the forget-gate bias: b_ih's forget slice is
`forget_bias` and b_hh's is 0, so the gate starts at sigmoid(forget_bias) as the zoo's
does.
"""

import math
import time

from zoo.data import tbptt_windows as zoo_windows


def corpus_streams(config):
    """(vocabulary size, train streams, validation streams), those of the recipe's own
    `prepare`."""
    from recipes.char_lm import TASK

    data = TASK.prepare(config)
    return data.assets.size, data.train_streams, data.valid_streams


def learning_rate(config, updates_made):
    if updates_made < config.warmup_steps:
        return config.lr * updates_made / config.warmup_steps
    decay = max(1, config.steps - config.warmup_steps)
    progress = min(updates_made - config.warmup_steps, decay) / decay
    return config.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


class TorchCharLM:
    """The recipe's model, optimizer and TBPTT loop in PyTorch.

    Args:
        config: A `recipes.char_lm.CharLMConfig` (cell "lstm", k1 == k2).
        vocab_size: Number of characters.
        forget_bias: Initial forget-gate bias (the zoo's `LSTMCell` default, 1).
    """

    def __init__(self, config, vocab_size, forget_bias=1.0):
        import torch

        if config.cell != "lstm" or config.k1 != config.k2:
            raise ValueError("the PyTorch peer runs the LSTM recipe with k1 == k2 only")
        torch.manual_seed(config.seed)
        self.torch, self.config, self.vocab_size = torch, config, vocab_size
        self.embedding = torch.nn.Embedding(vocab_size, config.embedding_dim)
        self.layers = torch.nn.ModuleList(
            torch.nn.LSTM(config.embedding_dim if n == 0 else config.units, config.units, batch_first=True)
            for n in range(config.layers))
        self.output = torch.nn.Linear(config.units, vocab_size)
        units = config.units
        with torch.no_grad():
            for layer in self.layers:  # PyTorch's gate order: i, f, g, o
                layer.bias_ih_l0[units:2 * units] = forget_bias
                layer.bias_hh_l0[units:2 * units] = 0.0
        self.modules = torch.nn.ModuleList([self.embedding, self.layers, self.output])
        self.optimizer = torch.optim.Adam(self.modules.parameters(), lr=0.0)
        self.updates = 0
        self.state = None

    def _dropped(self, x, training):
        """Variational dropout: one mask per row for the whole window."""
        rate = self.config.dropout
        if not training or rate == 0.0:
            return x
        keep = self.torch.bernoulli(x.new_full((x.shape[0], 1, x.shape[2]), 1.0 - rate))
        return x * keep / (1.0 - rate)

    def _forward(self, inputs, state, training):
        hidden, new_state = self.embedding(inputs), []
        for layer, layer_state in zip(self.layers, state):
            hidden, (h, c) = layer(self._dropped(hidden, training), layer_state)
            new_state.append((h, c))
        if training and self.config.dropout:
            hidden = self.torch.nn.functional.dropout(hidden, self.config.dropout)
        return self.output(hidden), new_state

    def _zero_state(self, rows):
        zeros = self.torch.zeros(1, rows, self.config.units)
        return [(zeros, zeros) for _ in self.layers]

    def _loss(self, logits, targets):
        return self.torch.nn.functional.cross_entropy(logits.reshape(-1, self.vocab_size),
                                                      targets.reshape(-1), reduction="sum")

    def train_step(self, inputs, targets):
        """One update on a window; returns its loss in nats per character."""
        torch = self.torch
        self.modules.train()
        if self.state is None:
            self.state = self._zero_state(inputs.shape[0])
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.config, self.updates)
        logits, state = self._forward(torch.from_numpy(inputs).long(), self.state, True)
        loss = self._loss(logits, torch.from_numpy(targets).long()) / targets.size
        self.optimizer.zero_grad()
        loss.backward()
        if self.config.clip_norm:
            torch.nn.utils.clip_grad_norm_(self.modules.parameters(), self.config.clip_norm)
        self.optimizer.step()
        self.updates += 1
        self.state = [(h.detach(), c.detach()) for h, c in state]
        return loss.item()

    def validation_loss(self, streams):
        """Mean loss in nats per character over tiling k1 windows, from zero state."""
        self.modules.eval()
        state, total, count = self._zero_state(streams.shape[0]), 0.0, 0
        with self.torch.inference_mode():
            for inputs, targets in tbptt_windows(streams, self.config.k1):
                logits, state = self._forward(self.torch.from_numpy(inputs).long(), state, False)
                total += float(self._loss(logits, self.torch.from_numpy(targets).long()))
                count += targets.size
        return total / count


def tbptt_windows(streams, k1):
    """The recipe's windows of an epoch (`zoo.data.tbptt_windows`, k1 == k2) as NumPy."""
    for inputs, targets in zoo_windows(streams, k1, k1):
        yield inputs.numpy(), targets.numpy()


def train_for(trainer, streams, steps, seconds):
    """Train `steps` updates or until `seconds` have passed, whichever comes first;
    epochs start from zero state. Returns (updates made, seconds spent, seconds of each
    update)."""
    started, times = time.perf_counter(), []
    while trainer.updates < steps:
        trainer.state = None  # every epoch starts from zero state
        for inputs, targets in tbptt_windows(streams, trainer.config.k1):
            before = time.perf_counter()
            trainer.train_step(inputs, targets)
            times.append(time.perf_counter() - before)
            if trainer.updates >= steps or time.perf_counter() - started >= seconds:
                return trainer.updates, time.perf_counter() - started, times
    return trainer.updates, time.perf_counter() - started, times
