"""The LSTM over a whole sequence, with a hand-written backward pass.

Equations as in `zoo.cells.LSTMCell`; per step, with the gate columns reordered to
i, f, o, c so the three sigmoid gates are one slice:

    [i f o] = sigmoid(Z_ifo),  g = tanh(Z_c),   Z = x_t W + b + h_{t-1} U
    c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t)

Backward through step t, given dh (from h_t's uses) and dc (from c_{t+1}):

    dc   += dh * o * (1 - tanh(c_t)^2)
    dZ_ifo = [dc * g,  dc * c_{t-1},  dh * tanh(c_t)] * s * (1 - s),   s = [i f o]
    dZ_c   = dc * i * (1 - g^2)
    dc_{t-1} = dc * f,   dh_{t-1} = dZ U^T   (+ the gradient of output h_{t-1})

Each step's elementwise work runs as one compiled op each way where `zoo.fused.native`
has the kernels, else as TensorFlow ops (`_TFOpsStep`); both compute the equations above.
With a mask, a masked step keeps (h_{t-1}, c_{t-1}) and passes dh and dc straight back
(`zoo.fused.plan.StepMasks`).
"""

import tensorflow as tf

from zoo.fused import native, plan


def _sigmoid_gates_first(fused):
    """Columns i, f, c, o (the Keras layout) -> i, f, o, c."""
    i, f, c, o = tf.split(fused, 4, axis=-1)
    return tf.concat([i, f, o, c], axis=-1)


class _TFOpsStep:
    """One step each way as TensorFlow ops; `saved` is what the backward step reads."""

    @staticmethod
    def forward(projected, recurrent, c_prev):
        """(h_t, c_t, saved) from x_t W + b, h_{t-1} U and c_{t-1}."""
        units = c_prev.shape[-1]
        z_ifo, z_c = tf.split(projected + recurrent, [3 * units, units], axis=1)
        i, f, o = tf.split(tf.sigmoid(z_ifo), 3, axis=1)
        g = tf.tanh(z_c)
        c = f * c_prev + i * g
        tanh_c = tf.tanh(c)
        return o * tanh_c, c, ((i, f, o, g), tanh_c)

    @staticmethod
    def backward(d_h, d_h_output, d_c, saved, c_prev):
        """(dZ_t, dc_{t-1}) from the gradients of h_t (two parts) and of c_t."""
        (i, f, o, g), tanh_c = saved
        d_h = d_h + d_h_output
        d_c = d_c + tf.raw_ops.TanhGrad(y=tanh_c, dy=d_h * o)
        # One concat per step (of the four gates' gradients): each concat of the
        # step's [batch, 4 units] took about as long as a gate's elementwise ops.
        d_z = tf.concat([tf.raw_ops.SigmoidGrad(y=i, dy=d_c * g),
                         tf.raw_ops.SigmoidGrad(y=f, dy=d_c * c_prev),
                         tf.raw_ops.SigmoidGrad(y=o, dy=d_h * tanh_c),
                         tf.raw_ops.TanhGrad(y=g, dy=d_c * i)], axis=1)
        return d_z, d_c * f


class _CompiledStep:
    """One step each way as one compiled op (`zoo/fused/kernels/lstm_step.cc`)."""

    def __init__(self, kernels):
        self.kernels = kernels

    def forward(self, projected, recurrent, c_prev):
        h, c, gates, tanh_c = self.kernels.zoo_lstm_step(projected, recurrent, c_prev)
        return h, c, (gates, tanh_c)

    def backward(self, d_h, d_h_output, d_c, saved, c_prev):
        return self.kernels.zoo_lstm_step_grad(d_h, d_h_output, d_c, *saved, c_prev)


def lstm_sequence(x, h_0, c_0, kernel, recurrent_kernel, bias, mask=None):
    """(h_1..T [batch, T, units], h_T, c_T) for x [batch, T, in] with static T; mask bool
    [batch, T] or None.

    `kernel`, `recurrent_kernel`, `bias` in the Keras layout (gate order i, f, c, o).
    Gradients flow to every argument but the mask.
    """
    steps = plan.StepMasks(mask, x.shape[1])
    kernels = native.step_kernels(x.dtype)
    step = _TFOpsStep() if kernels is None else _CompiledStep(kernels)

    @tf.custom_gradient
    def run(x, h_0, c_0, kernel, recurrent_kernel, bias):
        """x [batch, T, in]; gate columns i, f, o, c."""
        h, c = h_0, c_0
        hs, cs, saved = [], [], []
        for t, x_proj_t in enumerate(plan.project_all_steps(x, kernel, bias)):
            h_new, c_new, saved_t = step.forward(x_proj_t, tf.matmul(h, recurrent_kernel), c)
            h = steps.keep(t, h_new, h)
            c = steps.keep(t, c_new, c)
            hs.append(h)
            cs.append(c)
            saved.append(saved_t)

        def backward(d_outputs, d_h_last, d_c_last):
            d_outputs = tf.unstack(plan.gradient_or_zeros(d_outputs, outputs), axis=1)
            d_h = plan.gradient_or_zeros(d_h_last, h_0)
            d_c = plan.gradient_or_zeros(d_c_last, c_0)
            recurrent_kernel_t = plan.transposed_copy(recurrent_kernel)
            c_prev = [c_0] + cs[:-1]
            d_z = [None] * len(hs)
            no_output_gradient = None if steps.masks is None else tf.zeros_like(h_0)
            for t in reversed(range(len(hs))):
                d_output, d_h_kept, d_c_kept = d_outputs[t], None, None
                if steps.masks is not None:  # the step's kept share passes straight back
                    d_h, d_h_kept = steps.split(t, d_h + d_output)
                    d_c, d_c_kept = steps.split(t, d_c)
                    d_output = no_output_gradient
                d_z[t], d_c = step.backward(d_h, d_output, d_c, saved[t], c_prev[t])
                d_c = plan.plus(d_c, d_c_kept)
                d_h = plan.plus(tf.matmul(d_z[t], recurrent_kernel_t), d_h_kept)
            d_z = plan.rows(d_z)
            d_x, d_kernel, d_bias = plan.input_gradients(x, kernel, d_z)
            d_recurrent_kernel, _ = plan.recurrent_gradients([h_0] + hs[:-1], d_z)
            return d_x, d_h, d_c, d_kernel, d_recurrent_kernel, d_bias

        outputs = tf.stack(hs, axis=1)
        return (outputs, h, c), backward

    return run(x, h_0, c_0, _sigmoid_gates_first(kernel), _sigmoid_gates_first(recurrent_kernel),
               _sigmoid_gates_first(bias))
