"""The served module of `recipes.tree` runs: one `classify_trees` signature.

In: `trees` string [batch], each a tree in the bracket syntax `[HEAD child ... ]` (the
training file's TREE column; for ListOps an expression such as `[MAX 2 [MIN 4 7 ] ]`).
Out: `probabilities` float32 [batch, classes], `class_id` int32 [batch] and `label`
string [batch], the class names read from the asset `labels.txt` (line k for class id k;
for ListOps the value as text).

The tree is parsed in the graph (`zoo.data.tree_graph`, core TensorFlow ops only) into
the rows the model was trained on (binarised for the binary Tree-LSTM); the sequential
models read the token string itself.
Requests are checked before any work (`export.requests`), in stages each bounded by the
one before:
1. 1 to MAX_BATCH trees of at most MAX_TREE_BYTES bytes each (before splitting);
2. at most the run's --max-tokens tokens per tree;
3. the bracket syntax of `zoo.data.listops.parse_tree` (vectorised: no loop has run),
   and at most MAX_DEPTH levels of nesting;
4. the work, batch x the longest tree's tokens (cell steps), within the export's budget.
A refused request fails with InvalidArgumentError naming `trees` and the rule.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from export.requests import checked, int64, string_batch, within_budget
from export.serving import MAX_BATCH, ServingModule
from zoo.data import tree_graph
from zoo.data.tokens import UNKNOWN

LABELS_ASSET = "labels.txt"
# What the model reads: the parsed tree, its left-branching binarisation, or the tokens.
READS = ("tree", "binarized", "tokens")
MAX_TREE_BYTES = 1 << 16
# Nesting the per-depth counts of the parse are sized for ([batch, nodes, MAX_DEPTH + 1]).
MAX_DEPTH = 64
SYNTAX_RULES = {
    "nonempty": "trees: every tree needs at least one token",
    "closes_open": "trees: a closing ] with no open node; expected balanced brackets",
    "all_closed": "trees: a node is never closed; expected balanced brackets",
    "one_tree": "trees: tokens after the tree has ended; expected one tree per string",
    "no_empty_node": "trees: a node with no child; expected '[HEAD child ... ]'",
}


class TreeServer(ServingModule):
    """`classify_trees` (see the module docstring)."""

    # Batch x tokens: 64 ListOps trees of the default's 200 tokens.
    DEFAULT_BUDGET = 12800

    def __init__(self, model, assets, folder, budget=0, reads="tree", max_tokens=200):
        super().__init__(model, name="tree_server", budget=budget)
        if reads not in READS:
            raise ValueError(f"reads must be one of {READS}, received: {reads!r}")
        self.reads, self.max_tokens = reads, int(max_tokens)
        path = folder / LABELS_ASSET
        path.write_text("".join(f"{name}\n" for name in assets["class_names"]), encoding="utf-8")
        self.labels = tf.saved_model.Asset(str(path))
        line = tf.lookup.TextFileIndex
        self.label_of_id = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            self.labels, tf.int64, line.LINE_NUMBER, tf.string, line.WHOLE_LINE), "")
        vocabulary = list(assets["vocabulary"])
        self.token_ids = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(vocabulary or ["\0"], tf.string),
            tf.constant(np.arange(2, len(vocabulary) + 2) if vocabulary else [UNKNOWN], tf.int32)), UNKNOWN)
        self.classify_trees = tf.function(self._classify_trees, input_signature=[
            tf.TensorSpec(None, tf.string, name="trees")])
        self.track_variables()
        self.record_budget(folder, {"classify_trees": "batch x tokens of the longest tree"},
                           {"batch": MAX_BATCH, "tree_bytes": MAX_TREE_BYTES, "tokens": self.max_tokens,
                            "depth": MAX_DEPTH})

    def _classify_trees(self, trees):
        trees = self.checked("classify_trees", {"trees": trees}, string_batch("trees", MAX_BATCH, MAX_TREE_BYTES),
                             {"trees": ([None], "string [batch]")})["trees"]
        split = checked({"trees": trees, "lengths": tf.cast(tf.strings.split(trees).row_lengths(), tf.int32)}, [
            (lambda inputs: tf.reduce_all(inputs["lengths"] <= self.max_tokens),
             f"trees: at most {self.max_tokens} tokens each, as in training"),
        ])
        # Sized by the token bound from here on: [batch, max_tokens] for the syntax rules.
        rows = tree_graph.token_rows(split["trees"])
        rules = [(lambda inputs, name=name: inputs[name], message) for name, message in SYNTAX_RULES.items()]
        rules += [
            (lambda inputs: inputs["depth"] <= MAX_DEPTH, f"trees: at most {MAX_DEPTH} levels of nesting"),
            within_budget(lambda inputs: int64(tf.size(inputs["lengths"])) * int64(tf.reduce_max(inputs["lengths"])),
                          self.budget, "trees: batch x tokens"),
        ]
        held = checked({**tree_graph.syntax(rows), "depth": tree_graph.node_depths(rows),
                        "lengths": split["lengths"]}, rules)
        # The parse ([batch, nodes, MAX_DEPTH + 1] counts) runs only on a request that passed.
        with tf.control_dependencies(list(held.values())):
            rows = tree_graph.TokenRows(*(tf.identity(getattr(rows, field.name))
                                          for field in dataclasses.fields(rows)))
        if self.reads == "tokens":
            inputs = [self._ids(rows.tokens), rows.lengths]
        else:
            parse = tree_graph.parse if self.reads == "tree" else tree_graph.binarized_parse
            node_tokens, parents, depths, slots = parse(rows, MAX_DEPTH)
            inputs = [self._ids(node_tokens), parents, depths, slots]
        logits = self.model(inputs, training=False)
        class_id = tf.argmax(logits, -1, output_type=tf.int32)
        return {"probabilities": tf.nn.softmax(logits), "class_id": class_id,
                "label": self.label_of_id.lookup(tf.cast(class_id, tf.int64))}

    def _ids(self, tokens):
        """Token ids in the run's layout: "" (padding, no token) 0, unknown tokens 1."""
        return tf.where(tf.equal(tokens, ""), 0, self.token_ids.lookup(tokens))

    def signatures(self):
        return {"classify_trees": self.classify_trees}

    def warmup_requests(self):
        return [("classify_trees", {"trees": np.array([b"[MAX 2 9 [MIN 4 7 ] 0 ]", b"[SM 1 2 ]"])})]
