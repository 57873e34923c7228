"""Bracket trees parsed in the graph with core TensorFlow ops, into the rows
`zoo.data.tree_batch` writes in Python, so a served signature takes tree strings (TF
Serving runs no Python).

Everything is vectorised; nothing loops over tokens. With `open` = the token starts with
`[`, `close` = the token is `]`, and `depth_before` = opens minus closes before a token
(an exclusive cumsum):

- the nodes are the tokens that are not `]`, in pre-order, and a node's depth is its
  `depth_before`;
- a node's parent is the nearest earlier node one level up (in pre-order nothing between
  a parent and its child sits at the parent's depth);
- its child slot is the number of nodes at its depth between its parent and itself.

Both are read from per-depth running counts ([batch, nodes, max_depth + 1]). The checks
(`syntax`) are computed first and cannot fail on any input; `parse` assumes they hold.
"""

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class TokenRows:
    tokens: tf.Tensor   # [batch, longest] string, "" after each row's end
    lengths: tf.Tensor  # [batch] int32
    is_open: tf.Tensor  # [batch, longest] bool
    is_close: tf.Tensor
    depth_before: tf.Tensor  # [batch, longest] int32


def token_rows(texts):
    """The whitespace tokens of each tree string, padded, with their bracket depths."""
    ragged = tf.strings.split(texts)
    tokens = ragged.to_tensor("")
    lengths = tf.cast(ragged.row_lengths(), tf.int32)
    inside = tf.sequence_mask(lengths, tf.shape(tokens)[1])
    is_open = inside & tf.equal(tf.strings.substr(tokens, 0, 1), "[")
    is_close = inside & tf.equal(tokens, "]")
    step = tf.cast(is_open, tf.int32) - tf.cast(is_close, tf.int32)
    depth_before = tf.cumsum(step, axis=1, exclusive=True)
    return TokenRows(tokens, lengths, is_open, is_close, depth_before)


def syntax(rows):
    """{rule: [batch] bool} for each rule a tree string must keep, as `parse_tree` reads it:

    nonempty      at least one token
    closes_open   no `]` without an open node
    all_closed    every node closed by the end
    one_tree      nothing after the root's node (or after a single leaf)
    no_empty_node no `]` right after a head
    """
    width = tf.shape(rows.tokens)[1]
    inside = tf.sequence_mask(rows.lengths, width)
    step = tf.cast(rows.is_open, tf.int32) - tf.cast(rows.is_close, tf.int32)
    depth_after = rows.depth_before + step
    after_first = inside & (tf.range(width) > 0)
    # Shifted one token right; every op here holds for rows of no token at all.
    previous_open = tf.pad(rows.is_open, [[0, 0], [1, 0]])[:, :width]
    return {
        "nonempty": rows.lengths > 0,
        "closes_open": tf.reduce_all(~inside | (depth_after >= 0), axis=1),
        "all_closed": tf.equal(tf.reduce_sum(step, axis=1), 0),
        "one_tree": tf.reduce_all(~after_first | (rows.depth_before >= 1), axis=1),
        "no_empty_node": ~tf.reduce_any(rows.is_close & previous_open, axis=1),
    }


def node_depths(rows):
    """The deepest node of each row ([batch] int32): checked against a bound before `parse`."""
    inside = tf.sequence_mask(rows.lengths, tf.shape(rows.tokens)[1])
    return tf.reduce_max(tf.where(inside & ~rows.is_close, rows.depth_before, 0), axis=1)


def parse(rows, max_depth):
    """(tokens, parents, depths, child_slots), [batch, nodes], as `zoo.data.tree_batch`
    writes them, for rows that keep every `syntax` rule and nest at most `max_depth`."""
    nodes = tf.sequence_mask(rows.lengths, tf.shape(rows.tokens)[1]) & ~rows.is_close
    tokens = tf.ragged.boolean_mask(rows.tokens, nodes).to_tensor("")
    depths = tf.ragged.boolean_mask(rows.depth_before, nodes).to_tensor(-1)
    count = tf.shape(depths)[1]
    # counts[b, k, d]: nodes of depth d among nodes 0..k of row b.
    counts = tf.cumsum(tf.one_hot(depths, max_depth + 1, dtype=tf.int32), axis=1)
    safe_depths = tf.maximum(depths, 0)
    own_rank = tf.gather(counts, safe_depths, batch_dims=2) - 1
    # position[b, d, r]: the index of the (r + 1)-th node of depth d in row b.
    row = tf.broadcast_to(tf.range(tf.shape(depths)[0])[:, None], tf.shape(depths))
    real = depths >= 0
    position = tf.scatter_nd(
        tf.stack([row[real], depths[real], own_rank[real]], axis=1),
        tf.broadcast_to(tf.range(count)[None], tf.shape(depths))[real],
        tf.stack([tf.shape(depths)[0], max_depth + 1, count]))
    up = tf.maximum(safe_depths - 1, 0)
    # Nodes one level up among nodes 0..k, the last of which is the parent.
    above = tf.gather(counts, up, batch_dims=2)
    parents = tf.gather_nd(position, tf.stack([row, up, tf.maximum(above - 1, 0)], axis=-1))
    parents = tf.where(depths >= 1, parents, -1)
    siblings_up_to_parent = tf.gather(
        tf.gather(counts, tf.maximum(parents, 0), batch_dims=1), safe_depths, batch_dims=2)
    slots = tf.where(depths >= 1, own_rank - siblings_up_to_parent, 0)
    return tokens, parents, depths, slots
