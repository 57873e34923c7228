"""Initialise gate slices of a fused bias to a constant (forget / update-gate bias)."""

import numpy as np
from keras import ops


def gate_bias_initializer(base_initializer, units, gate_index, value):
    """An initializer: `base_initializer` everywhere, but gate `gate_index` (an int, or a
    tuple of them: the N-ary Tree-LSTM's N forget gates) starts at `value`.

    The bias is [G * units], or [2, G * units] for a GRU with `reset_after` (row 0 is the
    input bias, row 1 the recurrent bias). The gate's pre-activation sees the sum of the
    rows, so row 0 gets `value` and row 1 zero in that slice: the gate starts at exactly
    sigmoid(value).
    """
    gates = [slice(index * units, (index + 1) * units)
             for index in ((gate_index,) if isinstance(gate_index, int) else gate_index)]

    def initializer(shape, dtype=None):
        in_gate = np.zeros(shape, dtype=bool)
        start = np.zeros(shape, dtype=np.float64)
        for gate in gates:
            in_gate[..., gate] = True
            start.reshape(-1, shape[-1])[0, gate] = value
        base = base_initializer(shape, dtype=dtype)
        return ops.where(in_gate, ops.cast(start, base.dtype), base)

    return initializer
