"""The non-finite guard, seen from a recipe that trains with the minibatch rule: a NaN
embedding during one update is skipped, logged, and the run goes on with finite weights."""

import numpy as np
from event_files import load_events, scalar_series

from zoo.run.folders import restore_run
from zoo.training.loop import train_and_evaluate
from zoo.training.minibatch import MinibatchRule

POISONED_UPDATE = 3


class PoisonedRule(MinibatchRule):
    """Makes the embedding NaN during update POISONED_UPDATE (a poisoned batch)."""

    calls = 0

    def train_step(self, *batch):
        PoisonedRule.calls += 1
        if PoisonedRule.calls != POISONED_UPDATE:
            return super().train_step(*batch)
        embedding = self.model.get_layer("embedding").embeddings
        clean = embedding.numpy()
        embedding.assign(np.full_like(clean, np.nan))
        try:
            return super().train_step(*batch)
        finally:
            embedding.assign(clean)


def assert_a_poisoned_update_is_skipped(recipe, config, monkeypatch, capsys):
    """Train `config` of the recipe module `recipe` (its TASK builds a MinibatchRule) with
    update POISONED_UPDATE poisoned; it is skipped and the run ends with finite weights."""
    monkeypatch.setattr(recipe, "MinibatchRule", PoisonedRule)
    monkeypatch.setattr(PoisonedRule, "calls", 0)
    result = train_and_evaluate(recipe.TASK, config, show_progress=False)
    assert f"step {POISONED_UPDATE}: non-finite loss or gradient; update skipped" in capsys.readouterr().out
    events = load_events(result["run_dir"])
    assert scalar_series(events, "train/skipped_update") == {POISONED_UPDATE: 1.0}
    assert all(np.isfinite(w).all() for w in restore_run(result["run_dir"]).model.get_weights())
