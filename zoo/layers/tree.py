"""Recursive (tree) layers: node states computed bottom-up over a batch of trees, one level
at a time (Deep Learning book, section 10.6).

A batch of trees is laid out as rows, one tree per row, nodes padded to M per row
(`zoo.data.tree_batch` writes it):

    node_inputs  [batch, M, input_dim]  x_j, the node's token embedded (zeros where none)
    parents      [batch, M]             the parent's index in the row, -1 for the root and padding
    depths       [batch, M]             0 for the root, 1 + the parent's otherwise; -1 pads
    child_slots  [batch, M]             the node's position among its siblings (N-ary cells)

and every layer returns the node states h [batch, M, units] (zeros on padding), the root's
where the tree recipe reads it.

Schedule: one `while` loop over depths, deepest first. At depth l every node of depth l
in the batch is ready (its children are at depth l + 1, composed one step before), so one
step gathers the children's states of all of them, composes them with a few matmuls and
scatters the new states back. The loop runs max depth + 1 steps for the whole batch
instead of one step per node. Depths, unlike heights, are a running count of open
brackets, which the served signature computes in the graph with one cumsum. The other
technique, a SPINN-style shift-reduce stack (Bowman et al., 2016), takes 2n - 1 steps for
n tokens and works on binary trees only; the level schedule takes as many steps as the
tree is high (for ListOps trees log-like in n) and any number of children, which the
child-sum cell needs.
"""

import keras
from keras import activations, initializers, ops

from zoo.cells.base import check_positive_int
from zoo.cells.gate_bias import gate_bias_initializer


class BottomUpTreeLayer(keras.layers.Layer):
    """What the tree layers share: the weights `kernel` W [input_dim, gates * units],
    `recurrent_kernel` U and `bias` b, and the bottom-up level loop; a subclass composes
    one level (`compose`). x_j W + b is computed for all nodes at once before the loop.
    """

    state_count = 1

    def __init__(self, units, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def weight_shapes(self, input_dim):
        """(kernel, recurrent_kernel) shapes; the bias is the kernel's column count."""
        raise NotImplementedError

    def bias_initializer_for_build(self):
        return self.bias_initializer

    def build(self, node_inputs_shape, parents_shape=None, depths_shape=None,
              child_slots_shape=None):
        kernel_shape, recurrent_shape = self.weight_shapes(node_inputs_shape[-1])
        self.kernel = self.add_weight(shape=kernel_shape, name="kernel",
                                      initializer=self.kernel_initializer)
        self.recurrent_kernel = self.add_weight(shape=recurrent_shape, name="recurrent_kernel",
                                                initializer=self.recurrent_initializer)
        self.bias = self.add_weight(shape=(kernel_shape[1],), name="bias",
                                    initializer=self.bias_initializer_for_build())
        self.built = True

    def compose(self, projected, child_states, child_parent, child_slot, parent_projected,
                node_count):
        """The new states of one level's nodes.

        projected: x_j W + b of the level's nodes [n, gates * units].
        child_states: each state of their children, [e, units] per state (e edges).
        child_parent: each child's parent as a row of `projected` [e].
        child_slot: each child's position among its siblings [e].
        parent_projected: `projected` of each child's parent [e, gates * units].
        node_count: n.
        Returns a list of `state_count` tensors [n, units].
        """
        raise NotImplementedError

    def call(self, node_inputs, parents, depths, child_slots=None):
        rows, width = ops.shape(parents)[0], ops.shape(parents)[1]
        total = rows * width
        depths = ops.reshape(ops.cast(depths, "int32"), (-1,))
        local_parents = ops.reshape(ops.cast(parents, "int32"), (-1,))
        row_start = ops.repeat(ops.arange(rows, dtype="int32") * width, width)
        # Global index of each node's parent; the root and padding point at row 0's first
        # node and are never read as children (no node is a child at depth 0 or -1).
        parents = ops.where(local_parents >= 0, row_start + local_parents, 0)
        slots = (ops.zeros_like(depths) if child_slots is None
                 else ops.reshape(ops.cast(child_slots, "int32"), (-1,)))
        flat_inputs = ops.reshape(node_inputs, (total, -1))
        projected = ops.matmul(flat_inputs, self.kernel) + self.bias
        deepest = ops.max(depths)

        def level(step, states):
            depth = deepest - step
            at_depth = depths == depth
            nodes = ops.nonzero(at_depth)[0]
            # A node's children are all one deeper, so they were composed one step earlier.
            children = ops.nonzero(depths == depth + 1)[0]
            child_parents = ops.take(parents, children)
            # Row of each node within this level, then of each child's parent.
            level_row = ops.cumsum(ops.cast(at_depth, "int32")) - 1
            new_states = self.compose(
                projected=ops.take(projected, nodes, axis=0),
                child_states=[ops.take(state, children, axis=0) for state in states],
                child_parent=ops.take(level_row, child_parents),
                child_slot=ops.take(slots, children),
                parent_projected=ops.take(projected, child_parents, axis=0),
                node_count=ops.shape(nodes)[0],
            )
            # The level's rows are still zero, so adding the scattered states writes them.
            positions = ops.expand_dims(nodes, 1)
            return [state + ops.scatter(positions, new, (total, self.units))
                    for state, new in zip(states, new_states)]

        zeros = ops.zeros((total, self.units), dtype=projected.dtype)
        states = ops.fori_loop(0, deepest + 1, level, [zeros] * self.state_count)
        return ops.reshape(states[0], (rows, width, self.units))

    def compute_output_shape(self, node_inputs_shape, *shapes):
        return (*node_inputs_shape[:2], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }


def _children_sum(child_state, child_parent, node_count):
    return ops.segment_sum(child_state, child_parent, num_segments=node_count)


@keras.saving.register_keras_serializable(package="zoo")
class TreeRNN(BottomUpTreeLayer):
    """Recursive network over trees of any arity (Socher et al., 2011), children summed:

        h_j = tanh(x_j W + (sum_{k in C(j)} h_k) U + b)

    `kernel` W [input_dim, units], `recurrent_kernel` U [units, units], `bias` b [units].
    On a chain (one child per node) it is the Elman cell, `zoo.ElmanCell`.

    Example:
        >>> batch = tree_batch([parse_tree("[A x [B y z ] ]")])   # zoo.data.tree_batch, .listops
        >>> TreeRNN(8)(np.zeros((1, 5, 3)), batch.parents, batch.depths).shape
        (1, 5, 8)
    """

    def weight_shapes(self, input_dim):
        return (input_dim, self.units), (self.units, self.units)

    def compose(self, projected, child_states, child_parent, child_slot, parent_projected,
                node_count):
        summed = _children_sum(child_states[0], child_parent, node_count)
        return [ops.tanh(projected + ops.matmul(summed, self.recurrent_kernel))]


class _TreeLSTM(BottomUpTreeLayer):
    state_count = 2

    def __init__(self, units, forget_bias=1.0, **kwargs):
        super().__init__(units, **kwargs)
        self.forget_bias = None if forget_bias is None else float(forget_bias)

    def forget_gates(self):
        """The gate index (or indices) of the forget gates in the fused columns."""
        raise NotImplementedError

    def bias_initializer_for_build(self):
        if self.forget_bias is None:
            return self.bias_initializer
        return gate_bias_initializer(self.bias_initializer, self.units, self.forget_gates(),
                                     self.forget_bias)

    def get_config(self):
        return {**super().get_config(), "forget_bias": self.forget_bias}


@keras.saving.register_keras_serializable(package="zoo")
class ChildSumTreeLSTM(_TreeLSTM):
    """Child-sum Tree-LSTM (Tai, Socher & Manning, 2015, eqs. 2-8), any number of children:

        h~_j  = sum_{k in C(j)} h_k
        i_j   = sigmoid(x_j W_i + h~_j U_i + b_i)
        f_jk  = sigmoid(x_j W_f + h_k  U_f + b_f)      one forget gate per child k
        u_j   = tanh(x_j W_c + h~_j U_c + b_c)
        o_j   = sigmoid(x_j W_o + h~_j U_o + b_o)
        c_j   = i_j * u_j + sum_{k in C(j)} f_jk * c_k
        h_j   = o_j * tanh(c_j)

    The fused layout and gate order i, f, c, o of `zoo.LSTMCell`: `kernel` [input_dim, 4u],
    `recurrent_kernel` [u, 4u], `bias` [4u], b_f starting at `forget_bias`. On a chain
    (one child per node, bottom-up) it is the LSTM over the nodes' inputs.

    Args:
        units: Positive integer, size of h and c.
        forget_bias: Initial b_f (None: `bias_initializer`).
    """

    def weight_shapes(self, input_dim):
        return (input_dim, 4 * self.units), (self.units, 4 * self.units)

    def forget_gates(self):
        return 1

    def compose(self, projected, child_states, child_parent, child_slot, parent_projected,
                node_count):
        u = self.units
        child_h, child_c = child_states
        summed = _children_sum(child_h, child_parent, node_count)
        gates = projected + ops.matmul(summed, self.recurrent_kernel)
        i = activations.sigmoid(gates[:, :u])
        candidate = ops.tanh(gates[:, 2 * u:3 * u])
        o = activations.sigmoid(gates[:, 3 * u:])
        f = activations.sigmoid(parent_projected[:, u:2 * u]
                                + ops.matmul(child_h, self.recurrent_kernel[:, u:2 * u]))
        c = i * candidate + _children_sum(f * child_c, child_parent, node_count)
        return [o * ops.tanh(c), c]


@keras.saving.register_keras_serializable(package="zoo")
class NaryTreeLSTM(_TreeLSTM):
    """N-ary Tree-LSTM (Tai, Socher & Manning, 2015, eqs. 9-14), children in N ordered
    slots (N = 2: the binary Tree-LSTM over binarised trees):

        i_j   = sigmoid(x_j W_i + sum_l h_jl U_i^(l) + b_i)
        f_jk  = sigmoid(x_j W_fk + sum_l h_jl U_fk^(l) + b_f)     k = 1..N
        u_j   = tanh(x_j W_c + sum_l h_jl U_c^(l) + b_c)
        o_j   = sigmoid(x_j W_o + sum_l h_jl U_o^(l) + b_o)
        c_j   = i_j * u_j + sum_l f_jl * c_jl
        h_j   = o_j * tanh(c_j)

    h_jl, c_jl are the states of child l (zeros where slot l is empty). Fused layout:
    `kernel` [input_dim, (N + 3) u] and `recurrent_kernel` [N u, (N + 3) u] (rows: slot 1,
    ..., slot N), columns in the order i, f_1 .. f_N, c, o; every b_fk starts at
    `forget_bias`. With N = 1 it is `zoo.LSTMCell`'s layout and, on a chain, the LSTM.

    Args:
        units: Positive integer, size of h and c.
        arity: N, the number of child slots (default 2).
        forget_bias: Initial b_fk (None: `bias_initializer`).
    """

    def __init__(self, units, arity=2, forget_bias=1.0, **kwargs):
        super().__init__(units, forget_bias=forget_bias, **kwargs)
        self.arity = check_positive_int("arity", arity)

    def weight_shapes(self, input_dim):
        columns = (self.arity + 3) * self.units
        return (input_dim, columns), (self.arity * self.units, columns)

    def forget_gates(self):
        return tuple(range(1, self.arity + 1))

    def compose(self, projected, child_states, child_parent, child_slot, parent_projected,
                node_count):
        u, n = self.units, self.arity
        # Each child's state in its slot's block of columns, summed per parent: [n, N u].
        in_slot = ops.one_hot(child_slot, n, dtype=projected.dtype)[:, :, None]
        slotted = [ops.reshape(in_slot * state[:, None, :], (-1, n * u)) for state in child_states]
        slotted_h, slotted_c = (_children_sum(state, child_parent, node_count) for state in slotted)
        gates = projected + ops.matmul(slotted_h, self.recurrent_kernel)
        i = activations.sigmoid(gates[:, :u])
        f = activations.sigmoid(gates[:, u:(n + 1) * u])
        candidate = ops.tanh(gates[:, (n + 1) * u:(n + 2) * u])
        o = activations.sigmoid(gates[:, (n + 2) * u:])
        c = i * candidate + ops.sum(ops.reshape(f * slotted_c, (-1, n, u)), axis=1)
        return [o * ops.tanh(c), c]

    def get_config(self):
        return {**super().get_config(), "arity": self.arity}
