"""The one request-checking layer of every served signature: each input checked, in
order, before any work or memory proportional to it, and each request's work bounded by
the export's budget.

A signature passes its inputs through `checked(inputs, rules)`: every rule is an
(condition, message) pair whose condition is computed from the inputs as they stand
after the rules before it, and every op that uses the inputs runs only after all of
them hold. So shapes are checked before an index reads them, sizes before a scan or an
allocation, and a refused request fails with InvalidArgumentError carrying the rule's
message (the input's name first), which TF Serving's REST API returns as
`{"error": "<message>..."}`.

The work budget: a signature's cost grows with the recurrent steps it runs over all its
rows (batch x time, batch x beam x decoded length, ...), its `work` in `cell steps`.
An export admits requests of at most `budget` cell steps; each server documents how it
counts them, and writes them with the budget into the asset `request_budget.json`.
"""

import json

import tensorflow as tf

BUDGET_ASSET = "request_budget.json"


def require(condition, message):
    """An op failing with InvalidArgumentError `message` where the scalar `condition` is False."""
    return tf.debugging.Assert(condition, [message])


def checked(inputs, rules):
    """`inputs` ({name: tensor}) after every rule in `rules` holds (see the module docstring).

    Each rule is (condition, message), condition a function of the inputs' dict returning
    a scalar bool tensor.
    """
    for condition, message in rules:
        with tf.control_dependencies([require(condition(inputs), message)]):
            inputs = {name: tf.identity(value) for name, value in inputs.items()}
    return inputs


def within_budget(work, budget, what):
    """The rule admitting requests whose `work(inputs)` (int64 cell steps) is at most `budget`."""
    return (lambda inputs: work(inputs) <= budget,
            f"{what} over the request budget of {budget} cell steps (set at export with --request-budget)")


def int64(value):
    return tf.cast(value, tf.int64)


def write_budget_asset(folder, budget, work, limits):
    """The asset recording the budget, how each signature counts its work, and its limits;
    returns a `tf.saved_model.Asset` to keep on the served module."""
    path = folder / BUDGET_ASSET
    path.write_text(json.dumps({"request_budget_cell_steps": budget, "work": work, "limits": limits},
                               indent=2, sort_keys=True) + "\n")
    return tf.saved_model.Asset(str(path))
