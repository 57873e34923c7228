"""The cells' equations and Elman BPTT written again in NumPy, independently of `zoo`.

Row-vector convention as in the cells: x_t [batch, input], h_t [batch, units]. Gate
column order: LSTM i, f, c, o; GRU z, r, h. Masks default to no dropout.
"""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def elman_forward(x, kernel, recurrent_kernel, bias, h0=None, input_mask=1.0, state_mask=1.0):
    """h_t = tanh(x_t W + h_{t-1} U + b). Returns hs [batch, time, units]."""
    batch, time, _ = x.shape
    h = np.zeros((batch, kernel.shape[1])) if h0 is None else h0
    hs = []
    for t in range(time):
        h = np.tanh((x[:, t] * input_mask) @ kernel + (h * state_mask) @ recurrent_kernel + bias)
        hs.append(h)
    return np.stack(hs, axis=1)


def lstm_forward(x, kernel, recurrent_kernel, bias, input_mask=1.0, state_mask=1.0):
    """Returns hs [batch, time, units] and the final (h, c)."""
    batch, time, _ = x.shape
    units = recurrent_kernel.shape[0]
    h = np.zeros((batch, units))
    c = np.zeros((batch, units))
    hs = []
    for t in range(time):
        a = (x[:, t] * input_mask) @ kernel + (h * state_mask) @ recurrent_kernel + bias
        i = sigmoid(a[:, :units])
        f = sigmoid(a[:, units:2 * units])
        g = np.tanh(a[:, 2 * units:3 * units])
        o = sigmoid(a[:, 3 * units:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1), (h, c)


def gru_forward(x, kernel, recurrent_kernel, bias, reset_after, input_mask=1.0, state_mask=1.0):
    """Returns hs [batch, time, units] and the final h."""
    batch, time, _ = x.shape
    units = recurrent_kernel.shape[0]
    if reset_after:
        b_in, b_rec = bias[0], bias[1]
    else:
        b_in, b_rec = bias, np.zeros_like(bias)
    w_z, w_r, w_h = np.split(kernel, 3, axis=1)
    u_z, u_r, u_h = np.split(recurrent_kernel, 3, axis=1)
    bi_z, bi_r, bi_h = np.split(b_in, 3)
    br_z, br_r, br_h = np.split(b_rec, 3)
    h = np.zeros((batch, units))
    hs = []
    for t in range(time):
        x_t = x[:, t] * input_mask
        h_d = h * state_mask
        z = sigmoid(x_t @ w_z + bi_z + h_d @ u_z + br_z)
        r = sigmoid(x_t @ w_r + bi_r + h_d @ u_r + br_r)
        if reset_after:
            hh = np.tanh(x_t @ w_h + bi_h + r * (h_d @ u_h + br_h))
        else:
            hh = np.tanh(x_t @ w_h + bi_h + (r * h_d) @ u_h)
        h = z * h + (1.0 - z) * hh
        hs.append(h)
    return np.stack(hs, axis=1), h


def elman_bptt(x, targets, U, W, b, V, c):
    """Loss and gradients of an Elman network by backpropagation through time.

    Forward, for t = 1..T (h_0 = 0):
        a_t = x_t U + h_{t-1} W + b,   h_t = tanh(a_t)
        o_t = h_t V + c,               p_t = softmax(o_t)
        L   = -sum_t sum_batch log p_t[target_t]
    Backward (the delta recursion):
        do_t = p_t - onehot(target_t)
        dh_t = do_t V^T + da_{t+1} W^T          (da_{T+1} = 0)
        da_t = dh_t * (1 - h_t^2)
        dV = sum_t h_t^T do_t,  dc = sum_t do_t
        dU = sum_t x_t^T da_t,  dW = sum_t h_{t-1}^T da_t,  db = sum_t da_t

    Args: x [batch, T, input]; targets int [batch, T]; U [input, H]; W [H, H]; b [H];
    V [H, K]; c [K]. Returns (L, {"U", "W", "b", "V", "c", "h"}), "h" the state
    gradients dL/dh_t, [T, batch, H].
    """
    batch, time, _ = x.shape
    hs = [np.zeros((batch, W.shape[0]))]
    probs = []
    loss = 0.0
    for t in range(time):
        hs.append(np.tanh(x[:, t] @ U + hs[-1] @ W + b))
        o = hs[-1] @ V + c
        o = o - o.max(axis=1, keepdims=True)
        p = np.exp(o) / np.exp(o).sum(axis=1, keepdims=True)
        probs.append(p)
        loss -= np.log(p[np.arange(batch), targets[:, t]]).sum()
    grads = {name: np.zeros_like(value) for name, value in dict(U=U, W=W, b=b, V=V, c=c).items()}
    da_next = np.zeros((batch, W.shape[0]))
    grads["h"] = np.zeros((time, batch, W.shape[0]))
    for t in reversed(range(time)):
        do = probs[t].copy()
        do[np.arange(batch), targets[:, t]] -= 1.0
        grads["V"] += hs[t + 1].T @ do
        grads["c"] += do.sum(axis=0)
        dh = do @ V.T + da_next @ W.T
        grads["h"][t] = dh
        da = dh * (1.0 - hs[t + 1] ** 2)
        grads["U"] += x[:, t].T @ da
        grads["W"] += hs[t].T @ da
        grads["b"] += da.sum(axis=0)
        da_next = da
    return loss, grads


def leaky_forward(x, kernel, recurrent_kernel, bias, leak, h0=None):
    """g_t = tanh(x_t W + h_{t-1} U + b), h_t = (1 - a) h_{t-1} + a g_t, a per unit (or
    one for all). Returns hs [batch, time, units]."""
    batch, time, _ = x.shape
    h = np.zeros((batch, kernel.shape[1])) if h0 is None else h0
    hs = []
    for t in range(time):
        g = np.tanh(x[:, t] @ kernel + h @ recurrent_kernel + bias)
        h = (1.0 - leak) * h + leak * g
        hs.append(h)
    return np.stack(hs, axis=1)
