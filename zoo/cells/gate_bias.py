"""Initialise one gate's slice of a fused bias to a constant (forget / update-gate bias)."""

import numpy as np
from keras import ops


def gate_bias_initializer(base_initializer, units, gate_index, value):
    """An initializer: `base_initializer` everywhere, but gate `gate_index` starts at `value`.

    The bias is [G * units], or [2, G * units] for a GRU with `reset_after` (row 0 is the
    input bias, row 1 the recurrent bias). The gate's pre-activation sees the sum of the
    rows, so row 0 gets `value` and row 1 zero in that slice: the gate starts at exactly
    sigmoid(value).
    """
    gate = slice(gate_index * units, (gate_index + 1) * units)

    def initializer(shape, dtype=None):
        in_gate = np.zeros(shape, dtype=bool)
        in_gate[..., gate] = True
        start = np.zeros(shape, dtype=np.float64)
        start.reshape(-1, shape[-1])[0, gate] = value
        base = base_initializer(shape, dtype=dtype)
        return ops.where(in_gate, ops.cast(start, base.dtype), base)

    return initializer
