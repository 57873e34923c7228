"""A stack of LSTM layers over a whole sequence as one pass: the layer wavefront.

Layer l at step t depends only on layer l - 1 at step t and on itself at step t - 1, so
within one graph layer l at step t can run beside layer l - 1 at step t + 1 (cuDNN
schedules multi-layer RNNs on GPUs this way; Appleyard et al., 2016). Run one layer after
another, each layer's pass waits for the whole sequence of the one below; here the steps
of all layers are one graph, and TensorFlow's executor runs what is ready side by side.

Per step, with gate columns i, f, o, c as in `zoo.fused.lstm`:

    layer 0:      Z^0_t = (X W^0 + b^0)_t + h^0_{t-1} U^0        (X W^0 one matmul for all t)
    layer l > 0:  Z^l_t = [h^{l-1}_t, h^l_{t-1}] [W^l; U^l] + b^l  (one matmul per step)

and the LSTM equations of `zoo.fused.lstm` on each layer. Backward, per step from T down,
layers from the top down: dZ^l_t as in `zoo.fused.lstm`, then for l > 0

    [dh^{l-1}_t (from above), dh^l_{t-1}] = dZ^l_t [W^l; U^l]^T

so layer l - 1's backward step t runs beside layer l's step t - 1. The weight gradients
are one matmul per layer over all T * batch rows after the loop:
d[W^l; U^l] = [H^{l-1}, H^l_prev]^T dZ^l.

The stack's result equals the layers' passes one after the other (`lstm_sequence` on
each) to float rounding; with a mask every layer takes the same steps.
"""

import tensorflow as tf

from zoo.fused import plan
from zoo.fused.lstm import gates_sigmoid_first


def lstm_stack_sequence(x, states, weights, mask=None):
    """(the top layer's h_1..T [batch, T, units], final states [h^0_T, c^0_T, h^1_T, ...])
    for x [batch, T, in] with static T.

    Args:
        x: The bottom layer's inputs.
        states: [h^0_0, c^0_0, h^1_0, c^1_0, ...], two per layer.
        weights: [kernel^0, recurrent_kernel^0, bias^0, kernel^1, ...], three per layer,
            in the Keras layout (gate order i, f, c, o).
        mask: bool [batch, T] or None.
    """
    layers = len(states) // 2
    steps = plan.StepMasks(mask, x.shape[1])
    weights = [gates_sigmoid_first(w) for w in weights]

    @tf.custom_gradient
    def run(x, *arguments):
        initial, layer_weights = arguments[:2 * layers], arguments[2 * layers:]
        kernels, recurrent_kernels, biases = layer_weights[0::3], layer_weights[1::3], layer_weights[2::3]
        # Layers above the first multiply [input, h] by [W; U] in one matmul per step.
        stacked = [None] + [tf.concat([kernels[l], recurrent_kernels[l]], axis=0) for l in range(1, layers)]
        units = [initial[2 * l].shape[-1] for l in range(layers)]
        h, c = list(initial[0::2]), list(initial[1::2])
        # Per layer, per step: the matmul's input rows, the cell's values for the backward pass.
        inputs, saved = [[] for _ in range(layers)], [[] for _ in range(layers)]
        top_states = []
        for t, x_proj_t in enumerate(plan.project_all_steps(x, kernels[0], biases[0])):
            below = None
            for l in range(layers):
                if l == 0:
                    inputs[0].append(h[0])
                    z = x_proj_t + tf.matmul(h[0], recurrent_kernels[0])
                else:
                    rows = tf.concat([below, h[l]], axis=1)
                    inputs[l].append(rows)
                    z = tf.matmul(rows, stacked[l]) + biases[l]
                z_ifo, z_c = tf.split(z, [3 * units[l], units[l]], axis=1)
                s, g = tf.sigmoid(z_ifo), tf.tanh(z_c)
                i, f, o = tf.split(s, 3, axis=1)
                c_new = f * c[l] + i * g
                tanh_c = tf.tanh(c_new)
                saved[l].append((s, i, f, o, g, tanh_c, c[l]))
                h[l] = steps.keep(t, o * tanh_c, h[l])
                c[l] = steps.keep(t, c_new, c[l])
                below = h[l]
            top_states.append(h[-1])

        def backward(d_outputs, *d_final):
            d_outputs = tf.unstack(plan.gradient_or_zeros(d_outputs, outputs), axis=1)
            d_h = [plan.gradient_or_zeros(d_final[2 * l], initial[2 * l]) for l in range(layers)]
            d_c = [plan.gradient_or_zeros(d_final[2 * l + 1], initial[2 * l + 1]) for l in range(layers)]
            transposed = [plan.transposed_copy(recurrent_kernels[0])] + [
                plan.transposed_copy(stacked[l]) for l in range(1, layers)]
            d_z = [[None] * len(top_states) for _ in range(layers)]
            for t in reversed(range(len(top_states))):
                from_above = d_outputs[t]
                for l in reversed(range(layers)):
                    s, i, f, o, g, tanh_c, c_prev = saved[l][t]
                    d_h_new, d_h_kept = steps.split(t, d_h[l] + from_above)
                    d_c_new, d_c_kept = steps.split(t, d_c[l])
                    d_c_new = d_c_new + tf.raw_ops.TanhGrad(y=tanh_c, dy=d_h_new * o)
                    d_s = tf.concat([d_c_new * g, d_c_new * c_prev, d_h_new * tanh_c], axis=1)
                    d_z[l][t] = tf.concat([tf.raw_ops.SigmoidGrad(y=s, dy=d_s),
                                           tf.raw_ops.TanhGrad(y=g, dy=d_c_new * i)], axis=1)
                    d_c[l] = plan.plus(d_c_new * f, d_c_kept)
                    d_rows = tf.matmul(d_z[l][t], transposed[l])
                    if l > 0:
                        from_above, d_rows = tf.split(d_rows, [units[l - 1], units[l]], axis=1)
                    d_h[l] = plan.plus(d_rows, d_h_kept)
            d_weights = []
            for l in range(layers):
                d_z_rows = plan.rows(d_z[l])
                if l == 0:
                    d_x, d_kernel, d_bias = plan.input_gradients(x, kernels[0], d_z_rows)
                    d_recurrent_kernel, _ = plan.recurrent_gradients(inputs[0], d_z_rows)
                else:
                    d_stacked = tf.matmul(plan.rows(inputs[l]), d_z_rows, transpose_a=True)
                    d_kernel, d_recurrent_kernel = tf.split(d_stacked, [units[l - 1], units[l]], axis=0)
                    d_bias = tf.reduce_sum(d_z_rows, axis=0)
                d_weights += [d_kernel, d_recurrent_kernel, d_bias]
            d_initial = [d for l in range(layers) for d in (d_h[l], d_c[l])]
            return [d_x, *d_initial, *d_weights]

        outputs = tf.stack(top_states, axis=1)
        final = [s for l in range(layers) for s in (h[l], c[l])]
        return (outputs, *final), backward

    outputs, *final = run(x, *states, *weights)
    return outputs, final
