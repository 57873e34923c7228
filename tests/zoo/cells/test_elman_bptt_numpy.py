"""Autodiff through the zoo Elman cell equals BPTT written by hand in NumPy (float64)."""

import keras
import numpy as np
import numpy_reference as ref
import tensorflow as tf

import zoo


def test_elman_gradients_equal_numpy_bptt_in_float64():
    batch, time, input_dim, hidden, vocab = 3, 11, 4, 6, 5
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, time, input_dim))
    targets = rng.integers(0, vocab, size=(batch, time))

    rnn = keras.layers.RNN(zoo.ElmanCell(hidden, dtype="float64"), return_sequences=True,
                           dtype="float64")
    output = keras.layers.Dense(vocab, dtype="float64")
    rnn.build((None, None, input_dim))
    output.build((None, None, hidden))
    U, W, b = (rng.normal(0, 0.6, w.shape) for w in rnn.get_weights())
    V, c = (rng.normal(0, 0.6, w.shape) for w in output.get_weights())
    rnn.set_weights([U, W, b])
    output.set_weights([V, c])

    with tf.GradientTape() as tape:
        logits = output(rnn(tf.constant(x)))
        loss = tf.reduce_sum(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits))
    variables = [v.value for v in rnn.trainable_weights + output.trainable_weights]
    autodiff = dict(zip("UWbVc", (g.numpy() for g in tape.gradient(loss, variables))))

    expected_loss, expected = ref.elman_bptt(x, targets, U, W, b, V, c)
    assert logits.dtype == tf.float64
    np.testing.assert_allclose(loss.numpy(), expected_loss, rtol=1e-12)
    for name in "UWbVc":
        np.testing.assert_allclose(autodiff[name], expected[name], rtol=1e-8, atol=1e-10,
                                   err_msg=f"gradient of {name}")
