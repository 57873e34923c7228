"""How far back in time gradients reach: ||d loss_T / d s_t|| for every step t of a window.

s_t is the state of every layer after step t (all cells' tensors together) and loss_T
the loss of the last step's prediction. A cell whose gradient norm collapses a
few steps back cannot learn long dependencies (Bengio et al., 1994; Pascanu et al., 2013);
plotted side by side, Elman, GRU and LSTM runs show the difference.
"""


import keras
import numpy as np
import tensorflow as tf

from zoo.evaluation.plots import png_of, subplots


def gradient_norms_through_time(cells, x, state, loss_of_last_output):
    """[T] array: mean over rows of ||d loss_T / d s_t||, t = 1..T.

    Args:
        cells: The stacked cells, bottom first (`recurrent_cells(model)`).
        x: [batch, T, features], the first cell's inputs (an embedding's output, say).
        state: Every cell's state before step 1, in order, each [batch, ...].
        loss_of_last_output: The loss of the top cell's output at step T, [batch, units]
            -> a scalar (summed over rows).

    Runs the cells step by step, so every s_t is a tensor the tape can differentiate
    against; works for any stack of cells, whatever the model around it.
    """
    time = x.shape[1]
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        s = [tf.convert_to_tensor(part) for part in state]
        # Watched, so the steps are recorded even where no weight is trainable (a reservoir).
        tape.watch(s)
        states_by_step = []
        for t in range(time):
            h, new_s, offset = x[:, t], [], 0
            for cell in cells:
                parts = len(cell.state_size)
                h, cell_state = cell(h, s[offset:offset + parts], training=False)
                new_s += cell_state
                offset += parts
            s = new_s
            states_by_step.append(s)
        loss = loss_of_last_output(h)
    grads = tape.gradient(loss, states_by_step)
    squared = [sum(tf.reduce_sum(tf.square(g), axis=-1) for g in step) for step in grads]
    return np.array([float(tf.reduce_mean(tf.sqrt(s))) for s in squared])


def recurrent_cells(model):
    """The cells of the model's recurrent layers, bottom first."""
    return [layer.cell for layer in model.layers if isinstance(layer, keras.layers.RNN)]


def plot_png(norms, title):
    """PNG bytes of norms against steps before the last prediction, on a log scale."""
    figure, axes = subplots(figsize=(6, 3.5), dpi=100)
    steps_back = np.arange(len(norms))[::-1]
    axes.semilogy(steps_back, np.maximum(norms, 1e-30), marker=".")
    axes.set_xlabel("steps before the last prediction")
    axes.set_ylabel("||d loss_T / d s_t||")
    axes.set_title(title)
    axes.invert_xaxis()
    axes.grid(True, which="both", alpha=0.3)
    return png_of(figure)
