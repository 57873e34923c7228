"""The update-rule protocol: exactly what the training loop (`zoo.training.loop`) reads of a rule.

A rule walks the data and carries whatever must travel from update to update (TBPTT's
carried state, a minibatch rule's position); the loop does not know which rule it runs.
The rules: `zoo.training.tbptt.TBPTTRule` (streams, TBPTT(k1, k2)),
`zoo.training.minibatch.MinibatchRule` (a fixed set of padded examples),
`zoo.training.minibatch.GeneratedBatchRule` (batches drawn afresh) and
`zoo.training.ridge.RidgeReadoutRule` (a readout solved in closed form).

Every `train_step` returns the same dict (`zoo.training.guarded_update`):

    loss       the batch's mean loss (before the update)
    finite     False when the update was skipped (a non-finite loss or gradient)
    clipped    whether the global-norm clip acted
    grad_norm  global gradient norm before clipping      (rules with by_gradient only)
    grads      the gradients after clipping, for histograms (rules with by_gradient only)
"""

from collections.abc import Iterator
from typing import Protocol


class UpdateRule(Protocol):
    item_name: str          # what its throughput counts: "chars", "examples"
    items_per_update: int   # items one update trains on, for items per second
    by_gradient: bool       # False: a closed-form rule (no learning rate, gradient or clipping)

    def batches(self) -> Iterator[tuple]:
        """Batches from the saved position on, to the end of an epoch (or without end)."""

    def train_step(self, *batch) -> dict:
        """One update on `batch`; returns the dict of the module docstring."""

    def checkpointed(self) -> dict:
        """{name: variable} that a checkpoint must hold besides weights and optimizer."""
