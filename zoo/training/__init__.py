"""Training: the loop every recipe shares (`zoo.training.loop`), the update rules behind
one protocol (`zoo.training.update_rule`: TBPTT, minibatch, ridge), guarded updates,
distribution, checkpoints, signals, progress and scheduled sampling."""

from zoo.training.stateful import StatefulTrainer, tbptt_fit

__all__ = ["StatefulTrainer", "tbptt_fit"]
