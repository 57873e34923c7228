"""Neural Turing Machine cell: a controller with an N x M memory, one read and one write head."""

import keras
from keras import activations, initializers, ops

from zoo.cells.base import check_positive_int
from zoo.cells.lstm import LSTMCell

# Shifts the heads may take: -1, 0, +1 (the paper's copy and repeat-copy setting).
SHIFTS = 3
# Guards the cosine's denominator (a zero memory row or key), the norms' derivatives at
# zero (the flow penalty takes a second one) and 0 ** gamma's gradient.
EPSILON = 1e-6


def address(memory, key, strength, gate, shift, sharpening, previous):
    """A head's weighting over the memory rows (Graves et al., 2014, section 3.3).

        w^c(i) = softmax_i(beta * K(k, M(i))),  K(u, v) = u . v / (|u| |v| + eps)   content
                 |u| = sqrt(u . u + eps^2), smooth at a zero row
        w^g    = g w^c + (1 - g) w_{t-1}                                           interpolation
        w~(i)  = sum_j w^g(j) s((i - j) mod N)                                      circular shift
        w(i)   = (w~(i) + eps)^gamma / sum_j (w~(j) + eps)^gamma                    sharpening

    memory [batch, N, M], key [batch, M], strength beta [batch, 1] >= 0, gate g
    [batch, 1] in (0, 1), shift s [batch, SHIFTS] (a softmax over -1, 0, +1), sharpening
    gamma [batch, 1] >= 1, previous w_{t-1} [batch, N]. Returns w [batch, N], summing to 1.
    """
    dot = ops.einsum("bnm,bm->bn", memory, key)
    norm = lambda x, **keep: ops.sqrt(ops.sum(ops.square(x), axis=-1, **keep) + EPSILON ** 2)
    norms = norm(memory) * norm(key, keepdims=True)
    content = ops.softmax(strength * dot / (norms + EPSILON), axis=-1)
    gated = gate * content + (1.0 - gate) * previous
    # s[0] moves weight one row back (shift -1), s[1] keeps it, s[2] moves it one row on.
    shifted = (shift[:, 0:1] * ops.roll(gated, -1, axis=1) + shift[:, 1:2] * gated
               + shift[:, 2:3] * ops.roll(gated, 1, axis=1))
    sharpened = ops.power(shifted + EPSILON, sharpening)
    return sharpened / ops.sum(sharpened, axis=-1, keepdims=True)


def write(memory, weighting, erase, add):
    """M_t(i) = M_{t-1}(i) * (1 - w(i) e) + w(i) a (section 3.2): memory [batch, N, M],
    weighting w [batch, N], erase e in (0, 1) and add a, [batch, M]."""
    return memory * (1.0 - weighting[:, :, None] * erase[:, None, :]) + weighting[:, :, None] * add[:, None, :]


@keras.saving.register_keras_serializable(package="zoo")
class NTMCell(keras.layers.Layer):
    """Neural Turing Machine cell (Graves, Wayne & Danihelka, 2014, "Neural Turing Machines"),
    with an LSTM controller, an N x M memory and one read and one write head.

    At step t, with r_{t-1} the last read vector:

        h_t, c_t = LSTM([x_t, r_{t-1}], h_{t-1}, c_{t-1})                  controller
        per head: k = p W_k, beta = softplus(p W_beta), g = sigmoid(p W_g),
                  s = softmax(p W_s), gamma = 1 + softplus(p W_gamma)      p = h_t, plus bias
        w^r_t = address(M_{t-1}, k^r, ...; w^r_{t-1})                      read weighting
        w^w_t = address(M_{t-1}, k^w, ...; w^w_{t-1})                      write weighting
        r_t   = sum_i w^r_t(i) M_{t-1}(i)                                   read
        e = sigmoid(h_t W_e), a = tanh(h_t W_a)                            erase and add
        M_t(i) = M_{t-1}(i) * (1 - w^w_t(i) e) + w^w_t(i) a                write
        y_t   = [h_t, r_t]                                                 output

    (`address`: content addressing by cosine similarity and key strength, interpolation
    with the previous weighting, a circular shift over -1, 0, +1 and sharpening.) Both
    heads address the memory of the step before and the read sees it before the write, as
    in the reference implementation of Collier & Beel (2018, "Implementing Neural Turing
    Machines").

    The carried state is flat, `[h, c, r, w^r, w^w, M]` with M flattened row-major to
    [batch, N * M], so TBPTT, zero initial states and a served step carry it as they carry
    any [batch, size] state; a zero state is valid (the cosine's epsilon gives a zero
    memory uniform content weights). `head_kernel` [units, 2 (M + 6) + 2 M] holds the
    heads' projections in the order read (k, beta, g, s, gamma), write (the same), erase,
    add; `head_bias` its bias.

    Args:
        units: Positive integer, the LSTM controller's size.
        memory_rows: N, the number of memory rows.
        memory_width: M, the size of a row (and of k, e, a, r).

    Call arguments:
        inputs: x_t, [batch, input_dim].
        states: `[h, c, r, w^r, w^w, M]` of the step before.

    Example:
        >>> layer = keras.layers.RNN(zoo.cells.ntm.NTMCell(32, 16, 8), return_sequences=True)
        >>> layer(np.zeros((4, 10, 9))).shape
        (4, 10, 40)
    """

    def __init__(self, units, memory_rows=16, memory_width=8, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.memory_rows = check_positive_int("memory_rows", memory_rows)
        self.memory_width = check_positive_int("memory_width", memory_width)
        self.kernel_initializer = initializers.get(kernel_initializer)
        n, m = self.memory_rows, self.memory_width
        self.state_size = [self.units, self.units, m, n, n, n * m]
        self.output_size = self.units + m
        self.controller = LSTMCell(self.units, name="controller", dtype=self.dtype_policy)

    def head_columns(self):
        """Columns of one head's parameters: key M, beta 1, g 1, s SHIFTS, gamma 1."""
        return self.memory_width + 3 + SHIFTS

    def build(self, input_shape):
        self.controller.build((input_shape[0], input_shape[-1] + self.memory_width))
        columns = 2 * self.head_columns() + 2 * self.memory_width
        self.head_kernel = self.add_weight(shape=(self.units, columns), name="head_kernel",
                                           initializer=self.kernel_initializer)
        self.head_bias = self.add_weight(shape=(columns,), name="head_bias", initializer="zeros")
        self.built = True

    def head(self, parameters, memory, previous):
        m = self.memory_width
        key = parameters[:, :m]
        strength = activations.softplus(parameters[:, m:m + 1])
        gate = activations.sigmoid(parameters[:, m + 1:m + 2])
        shift = ops.softmax(parameters[:, m + 2:m + 2 + SHIFTS], axis=-1)
        sharpening = 1.0 + activations.softplus(parameters[:, m + 2 + SHIFTS:m + 3 + SHIFTS])
        return address(memory, key, strength, gate, shift, sharpening, previous)

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1, r_tm1, read_tm1, write_tm1, flat_memory = states
        n, m, columns = self.memory_rows, self.memory_width, self.head_columns()
        memory = ops.reshape(flat_memory, (-1, n, m))
        h, (_, c) = self.controller(ops.concatenate([inputs, r_tm1], axis=-1), [h_tm1, c_tm1],
                                    training=training)
        parameters = ops.matmul(h, self.head_kernel) + self.head_bias
        read_weights = self.head(parameters[:, :columns], memory, read_tm1)
        write_weights = self.head(parameters[:, columns:2 * columns], memory, write_tm1)
        erase = activations.sigmoid(parameters[:, 2 * columns:2 * columns + m])
        add = ops.tanh(parameters[:, 2 * columns + m:])
        read = ops.einsum("bn,bnm->bm", read_weights, memory)
        written = write(memory, write_weights, erase, add)
        output = ops.concatenate([h, read], axis=-1)
        return output, [h, c, read, read_weights, write_weights, ops.reshape(written, (-1, n * m))]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "memory_rows": self.memory_rows,
                "memory_width": self.memory_width,
                "kernel_initializer": initializers.serialize(self.kernel_initializer)}
