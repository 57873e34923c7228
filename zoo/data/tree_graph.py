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


def _rows_at(values, positions):
    """values[b, positions[b, ...]] (positions clipped at 0: callers mask what is -1)."""
    return tf.gather(values, tf.maximum(positions, 0), batch_dims=1)


def _scattered(rows, positions, values, shape, empty):
    """[batch, width] with `values` at (rows, positions) and `empty` elsewhere."""
    indices = tf.stack([rows, positions], axis=1)
    return tf.scatter_nd(indices, values - empty, shape) + empty


def binarized_parse(rows, max_depth):
    """`parse` of the left-branching binarised trees (`zoo.data.listops.binarized`): every
    token a leaf, a list `[OP a_1 .. a_k ]` read as `(((([OP a_1) a_2) ..) a_k) ])`, inner
    nodes with token "". Vectorised like `parse`, from it and the tokens:

    - in pre-order a list q is its k + 1 inner nodes I_{k+1} .. I_1, its head, its
      arguments' nodes, its `]`; so token p lands at out(p) = p + the inner nodes of the
      lists opened up to p, and I_m of q at out(q) - m;
    - the head's parent is I_1 (left), argument a's is I_a (right), `]`'s is I_{k+1}
      (right), I_m's is I_{m+1} (left), and the top I_{k+1} is its list's place in its
      parent list (right), as a leaf argument is;
    - depths: an argument a of a list at depth D sits at D + k + 2 - a, so the depth of
      a subtree's top is a sum over its ancestors, one cumsum of each subtree's share
      added over its token span (a list's span ends at its matching `]`, found by rank
      among the brackets of its level).
    """
    tokens = rows.tokens
    batch, width = tf.shape(tokens)[0], tf.shape(tokens)[1]
    position = tf.broadcast_to(tf.range(width)[None], [batch, width])
    row = tf.broadcast_to(tf.range(batch)[:, None], [batch, width])
    inside = tf.sequence_mask(rows.lengths, width)
    is_node = inside & ~rows.is_close
    _, parents, _, slots = parse(rows, max_depth)
    node_position = tf.ragged.boolean_mask(position, is_node).to_tensor(-1)
    real = node_position >= 0
    node_row = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(node_position))
    # Per token: the parent list's token, the argument's number a (1-based), the list's k.
    parent_token = tf.where(parents >= 0, _rows_at(node_position, parents), -1)
    at = (node_row[real], node_position[real])
    parent_of = _scattered(*at, parent_token[real], [batch, width], -1)
    argument = _scattered(*at, slots[real] + 1, [batch, width], 0)
    has_parent = is_node & (parent_of >= 0)
    flat = row * width + tf.maximum(parent_of, 0)
    arity = tf.reshape(tf.math.unsorted_segment_sum(
        tf.reshape(tf.cast(has_parent, tf.int32), [-1]), tf.reshape(flat, [-1]), batch * width), [batch, width])
    # The matching `]` of each list, and the list of each `]`: the r-th bracket of a level.
    levels = max_depth + 1
    open_level = tf.where(rows.is_open, rows.depth_before, -1)
    close_level = tf.where(rows.is_close, rows.depth_before - 1, -1)
    opens_so_far = tf.cumsum(tf.one_hot(open_level, levels, dtype=tf.int32), axis=1)
    closes_so_far = tf.cumsum(tf.one_hot(close_level, levels, dtype=tf.int32), axis=1)
    open_rank = tf.gather(opens_so_far, tf.maximum(open_level, 0), batch_dims=2) - 1
    close_rank = tf.gather(closes_so_far, tf.maximum(close_level, 0), batch_dims=2) - 1
    table = [batch, levels, width]
    close_at = tf.scatter_nd(tf.stack([row[rows.is_close], close_level[rows.is_close],
                                       close_rank[rows.is_close]], 1), position[rows.is_close], table)
    open_at = tf.scatter_nd(tf.stack([row[rows.is_open], open_level[rows.is_open],
                                      open_rank[rows.is_open]], 1), position[rows.is_open], table)
    span_end = tf.where(rows.is_open, tf.gather_nd(close_at, tf.stack(
        [row, tf.maximum(open_level, 0), tf.maximum(open_rank, 0)], -1)), position)
    list_of_close = tf.gather_nd(open_at, tf.stack([row, tf.maximum(close_level, 0), tf.maximum(close_rank, 0)], -1))
    out = position + tf.cumsum(tf.where(rows.is_open, arity + 1, 0), axis=1)
    # Depth of each subtree's top: the shares k_P + 2 - a of it and its ancestors.
    share = tf.where(has_parent, _rows_at(arity, parent_of) + 2 - argument, 0)
    starts = tf.stack([row[is_node], position[is_node]], 1)
    ends = tf.stack([row[is_node], span_end[is_node] + 1], 1)
    top_depth = tf.cumsum(tf.scatter_nd(tf.concat([starts, ends], 0),
                                        tf.concat([share[is_node], -share[is_node]], 0),
                                        [batch, width + 1]), axis=1)[:, :width]
    # The place of a subtree's top in its parent list: I_a of the parent, as a right child.
    placed_parent = tf.where(has_parent, _rows_at(out, parent_of) - argument, -1)
    placed_slot = tf.cast(has_parent, tf.int32)
    # One node per token: a leaf, a list's head, or a `]`.
    is_leaf = is_node & ~rows.is_open
    close_list = tf.where(rows.is_close, list_of_close, 0)
    token_parent = tf.where(is_leaf, placed_parent, tf.where(
        rows.is_open, out - 1, _rows_at(out, close_list) - _rows_at(arity, close_list) - 1))
    token_depth = tf.where(is_leaf, top_depth, tf.where(
        rows.is_open, top_depth + arity + 1, _rows_at(top_depth, close_list) + 1))
    token_slot = tf.where(is_leaf, placed_slot, tf.where(rows.is_open, 0, 1))
    # The k + 1 inner nodes of each list: I_m at out(q) - m.
    opens = tf.where(rows.is_open)
    count = tf.gather_nd(arity, opens) + 1
    m = tf.ragged.range(1, count + 1).flat_values
    owner = tf.repeat(tf.range(tf.size(count)), count)
    k_plus_1 = tf.gather(count, owner)
    of_open = lambda values: tf.gather(tf.gather_nd(values, opens), owner)  # noqa: E731
    inner_index = of_open(out) - m
    inner_parent = tf.where(m < k_plus_1, inner_index - 1, of_open(placed_parent))
    inner_slot = tf.where(m < k_plus_1, 0, of_open(placed_slot))
    inner_depth = of_open(top_depth) + k_plus_1 - m
    # Every node scattered to its place; the source token of inner nodes is -1 ("").
    node_rows = tf.concat([row[inside], tf.gather(tf.cast(opens[:, 0], tf.int32), owner)], 0)
    places = tf.concat([out[inside], inner_index], 0)
    shape = [batch, tf.reduce_max(rows.lengths + tf.reduce_sum(tf.where(rows.is_open, arity + 1, 0), axis=1))]
    source = _scattered(node_rows, places, tf.concat([position[inside], -tf.ones_like(m)], 0), shape, -1)
    return (tf.where(source >= 0, _rows_at(tokens, source), ""),
            _scattered(node_rows, places, tf.concat([token_parent[inside], inner_parent], 0), shape, -1),
            _scattered(node_rows, places, tf.concat([token_depth[inside], inner_depth], 0), shape, -1),
            _scattered(node_rows, places, tf.concat([token_slot[inside], inner_slot], 0), shape, 0))
