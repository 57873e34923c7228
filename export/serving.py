"""What every recipe's served module shares: the model held out of the object graph, the
variables its signatures capture, and the request budget.

A recipe's task builds a `ServingModule` subclass whose `signatures()` are pure
`tf.function`s with named inputs and outputs (core TensorFlow ops only: TF Serving runs
no Python and has no custom ops), each checking its request first (`export.requests`),
and whose `warmup_requests()` give one real request per signature;
`export.saved_model` writes it in TF Serving's layout.
"""

import tensorflow as tf

from export.requests import checked, write_requests_asset

MAX_BATCH = 256


class _Untracked:
    """Holds the Keras model (see ServingModule), and the inputs' shapes the signatures
    declare, out of the SavedModel's object graph."""

    def __init__(self, model):
        self.model = model
        self.declared_inputs = {}


class ServingModule(tf.Module):
    """Base of the served modules.

    Subclasses set DEFAULT_BUDGET (cell steps, chosen so the worst admitted request of
    the recipe's default model stays within about 5 s and 1 GB on 2 cores; see
    docs/serving.md), define their `tf.function`s in `__init__`, then call
    `track_variables()` and `record_budget()`, and implement `signatures()`
    ({name: tf.function}) and `warmup_requests()` ([(signature name, {input name: array})]).

    Args:
        model: The inference model.
        name: The module's name.
        budget: The most cell steps a request may cost (0: DEFAULT_BUDGET).
    """

    DEFAULT_BUDGET = 0

    def __init__(self, model, name, budget=0):
        super().__init__(name=name)
        self.budget = int(budget or self.DEFAULT_BUDGET)
        # Keras variables wrap tf.Variables; TF Serving's (TF1) loader only binds the
        # tf.Variables the traced signatures capture, so those are what is tracked (as
        # keras.export.ExportArchive does), and the Keras model itself is not.
        self._held = _Untracked(model)

    @property
    def model(self):
        return self._held.model

    def track_variables(self):
        """Track every variable the signatures capture (traces them once)."""
        captured = {}
        for function in self.signatures().values():
            for variable in function.get_concrete_function().variables:
                captured.setdefault(id(variable), variable)
        self.captured_variables = list(captured.values())

    def checked(self, signature, inputs, rules, shapes=None):
        """`export.requests.checked`, noting `shapes` as `signature`'s inputs for the asset."""
        declared = self._held.declared_inputs.setdefault(signature, {})
        declared.update({name: {"shape": shape, "expected": what} for name, (shape, what) in (shapes or {}).items()})
        return checked(inputs, rules, shapes)

    def record_budget(self, folder, work, limits):
        """Keep the asset of the admitted requests (`export.requests.write_requests_asset`):
        the budget, each signature's work and limits, and the inputs' shapes the traced
        signatures checked."""
        self.requests_asset = write_requests_asset(folder, self.budget, work, limits,
                                                   self._held.declared_inputs)

    def signatures(self):
        raise NotImplementedError

    def warmup_requests(self):
        raise NotImplementedError
