"""The one request-checking layer of every served signature: every input checked before
any work or memory proportional to it, and each request's work bounded by the export's
budget.

A signature declares its inputs with unknown shapes (`any_shape`): a loaded signature
does not check a request against its declared shapes, and a declared rank lets tracing
fold a rank check away, so a request of another rank would fail inside the graph at
some internal node. Every rank is checked as a rule instead, and the static shape is
given back for the model after every rule holds (`with_static_shape`).

A signature passes its inputs through `checked(inputs, rules, shapes)`: every rule is a
(condition, message) pair, and every op that uses the inputs runs only after all of them
hold. The conditions cannot fail themselves whatever the request (`dims` reads a shape
padded with zeros, every condition is reduced to one bool), so they are computed side by
side, and one assertion reports the message of the first rule that does not hold (rank
rules first, then in the order given): a refused request fails with InvalidArgumentError
carrying it, the input's name first, which TF Serving's REST API returns as
`{"error": "<message>..."}`. A request that passes one stage's checks can be decoded or
split and checked again (a prompt's characters after its bytes).

The work budget: a signature's cost grows with the recurrent steps it runs over all its
rows (batch x time, batch x beam x decoded length, ...), its `work` in `cell steps`.
An export admits requests of at most `budget` cell steps; each server documents how it
counts them, and writes them with the budget into the asset `requests.json`, beside the
inputs' shapes (which the signatures themselves leave open).
"""

import json

import tensorflow as tf

REQUESTS_ASSET = "requests.json"


def any_shape(dtype, name):
    """A signature input of any shape (see the module docstring)."""
    return tf.TensorSpec(None, dtype, name=name)


def dims(tensor, rank):
    """The first `rank` sizes of `tensor`'s shape, padded with zeros: never an error."""
    return tf.concat([tf.shape(tensor), tf.zeros([rank], tf.int32)], 0)[:rank]


def checked(inputs, rules, shapes=None):
    """`inputs` ({name: tensor}) after every rule in `rules` holds (see the module docstring).

    Each rule is (condition, message), condition a function of the inputs' dict returning
    a bool tensor (reduced with all) that no request can make fail. `shapes` ({name:
    (shape, what)}, e.g. ([None, 1], "int32 [batch, 1]")) adds a rank rule per input
    before `rules`, and gives each its static shape once every rule holds.
    """
    shapes = shapes or {}
    rank_rules = [(_rank_is(name, len(shape)), f"{name}: expected {what}")
                  for name, (shape, what) in shapes.items()]
    rules = rank_rules + list(rules)
    holds = tf.stack([tf.reduce_all(condition(inputs)) for condition, _ in rules])
    first_broken = tf.argmin(tf.cast(holds, tf.int32))
    message = tf.gather(tf.constant([message for _, message in rules]), first_broken)
    with tf.control_dependencies([tf.debugging.Assert(tf.reduce_all(holds), [message])]):
        inputs = {name: tf.identity(value) for name, value in inputs.items()}
    return {name: with_static_shape(value, shapes[name][0]) if name in shapes else value
            for name, value in inputs.items()}


def with_static_shape(tensor, shape):
    """`tensor` reshaped to its own (checked) shape, spelled with `shape`'s known sizes, so
    the ops after it see them. Not `tf.ensure_shape` or `set_shape`: Grappler's shape
    inference carries those back to the signature's input, folds the rank rule to true
    and drops it (a request of another rank then failed at an internal node; TF 2.21);
    a reshape's output shape says nothing of its input's."""
    sizes = dims(tensor, len(shape))
    return tf.reshape(tensor, tf.stack([sizes[i] if size is None else size for i, size in enumerate(shape)])
                      if shape else [])


def _rank_is(name, rank):
    return lambda inputs: tf.equal(tf.rank(inputs[name]), rank)


def within_budget(work, budget, what):
    """The rule admitting requests whose `work(inputs)` (int64 cell steps) is at most `budget`."""
    return (lambda inputs: work(inputs) <= budget,
            f"{what} over the request budget of {budget} cell steps (set at export with --request-budget)")


def string_batch(name, max_batch, max_bytes):
    """The rules admitting a string [batch] input `name` of 1 to `max_batch` strings of at
    most `max_bytes` bytes each: checked before the strings are split or decoded."""
    return [
        (lambda inputs: (tf.size(inputs[name]) >= 1) & (tf.size(inputs[name]) <= max_batch),
         f"{name}: 1 to {max_batch} per request"),
        (lambda inputs: tf.reduce_max(tf.strings.length(inputs[name])) <= max_bytes,
         f"{name}: at most {max_bytes} bytes each"),
    ]


def all_finite(names, message):
    """The rule admitting inputs (or outputs) whose `names` hold finite values only."""
    return (lambda inputs: tf.reduce_all([tf.reduce_all(tf.math.is_finite(inputs[name])) for name in names]),
            message)


def state_rules(states, batch_of, batch_input):
    """Rules admitting each carried state (`states`: [(name, width)]) of shape [batch,
    width], batch `batch_of(inputs)` as in input `batch_input`, with finite values."""
    rules = []
    for name, width in states:
        rules += [
            (lambda inputs, name=name, width=width: tf.reduce_all(
                dims(inputs[name], 2) == tf.stack([batch_of(inputs), width])),
             f"{name}: expected [batch, {width}], batch as in {batch_input}"),
            (lambda inputs, name=name: tf.reduce_all(tf.math.is_finite(inputs[name])),
             f"{name}: values must be finite"),
        ]
    return rules


def int64(value):
    return tf.cast(value, tf.int64)


def write_requests_asset(folder, budget, work, limits, inputs):
    """The asset recording the budget, how each signature counts its work, its limits and
    its inputs' shapes; returns a `tf.saved_model.Asset` to keep on the served module."""
    path = folder / REQUESTS_ASSET
    path.write_text(json.dumps({"request_budget_cell_steps": budget, "work": work, "limits": limits,
                                "inputs": inputs}, indent=2, sort_keys=True) + "\n")
    return tf.saved_model.Asset(str(path))
