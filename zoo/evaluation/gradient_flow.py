"""How far back in time gradients reach: ||d loss_T / d s_t|| for every step t of a window.

s_t is the state of every layer after step t (all cells' tensors together) and loss_T
the loss of the last step's prediction. A cell whose gradient norm collapses a
few steps back cannot learn long dependencies (Bengio et al., 1994; Pascanu et al., 2013);
plotted side by side, Elman, GRU and LSTM runs show the difference.

Two measurements, for two kinds of caller:
- `gradient_norms_through_time`: a stack of cells run here, s_t every layer's state
  together, loss_T the last step's (the recipes);
- `layer_gradient_norms`: any Keras model as it is, s_t one recurrent layer's state,
  loss the model's compiled loss on a batch (`zoo.callbacks.GradientFlow`). Each
  recurrent layer (a built-in one, a zoo one, either side of a `Bidirectional`) runs its
  cell step by step for that one call, so every s_t is a tensor the tape sees.
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
    return _mean_norms(tape.gradient(loss, states_by_step))


def _mean_norms(grads_by_step):
    """[T]: per step, the mean over rows of the norm of all the step's state gradients
    together (a state no loss depends on has gradient None: norm 0)."""
    norms = []
    for step in grads_by_step:
        squared = sum(tf.reduce_sum(tf.square(g), axis=-1) for g in step if g is not None)
        norms.append(float(tf.reduce_mean(tf.sqrt(tf.cast(squared, tf.float32)))))
    return np.array(norms)


def recurrent_layers(model):
    """Every `keras.layers.RNN` inside `model`, in order: in nested models and layers, and
    both sides of a `Bidirectional` (named `forward_...` and `backward_...`)."""
    return [layer for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, keras.layers.RNN)]


def layer_gradient_norms(model, layers, x, y, sample_weight=None):
    """{layer name: [T] array, mean over rows of ||d loss / d s_t||} for each of `layers`.

    loss is `model.compute_loss` (the compiled loss, mean over the batch) of
    `model(x)` against y, without dropout; s_t is the layer's state after its t-th step
    taken (a `go_backwards` layer's first step reads the sequence's end), masked steps
    keeping the state as `keras.layers.RNN` does. One forward pass measures every layer.
    """
    recorded = {layer.name: [] for layer in layers}
    x = tf.nest.map_structure(tf.convert_to_tensor, x)
    with tf.GradientTape() as tape:
        for layer in layers:
            layer.inner_loop = _recording_loop(layer, tape, recorded[layer.name])
        try:
            y_pred = model(x, training=False)
        finally:
            for layer in layers:
                del layer.inner_loop  # the class's own again
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
    grads = tape.gradient(loss, recorded)
    return {name: _mean_norms(steps) for name, steps in grads.items()}


def _recording_loop(layer, tape, recorded):
    """An `inner_loop` for `layer` that runs its cell step by step and appends each step's
    state (watched by `tape`) to `recorded`, with `keras.layers.RNN`'s semantics: steps in
    reverse for `go_backwards`, outputs in the order taken, a masked step keeps its state
    and repeats the last output (zeros before the first, or with `zero_output_for_mask`)."""
    def inner_loop(sequences, initial_state, mask, training=False):
        steps = range(sequences.shape[1])
        state = tf.nest.flatten(initial_state)
        output = tf.zeros((tf.shape(sequences)[0], layer.cell.output_size), sequences.dtype)
        outputs = []
        for t in reversed(steps) if layer.go_backwards else steps:
            new_output, new_state = layer.cell(sequences[:, t], state, training=False)
            new_state = tf.nest.flatten(new_state)
            # Every Keras and zoo cell outputs its h, the first state tensor: then the
            # output is read from the watched s_t, so d loss / d s_t takes in the paths
            # through this step's output as well as through the later steps.
            output_is_state = new_output is new_state[0]
            if mask is not None:
                taken = tf.cast(mask[:, t], tf.bool)[:, None]
                new_state = [tf.where(taken, new, old) for new, old in zip(new_state, state)]
            tape.watch(new_state)
            recorded.append(new_state)
            if output_is_state:
                new_output = new_state[0]
            if mask is not None:
                kept = tf.zeros_like(new_output) if layer.zero_output_for_mask else output
                new_output = tf.where(taken, new_output, kept)
            state, output = new_state, new_output
            outputs.append(output)
        return output, tf.stack(outputs, axis=1), state

    return inner_loop


def recurrent_cells(model):
    """The cells of the model's top-level recurrent layers, bottom first."""
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
