"""Stateful training of a user's Keras model: TBPTT(k1, k2) from a script, with the
carried state in the trainer (not in the layers) and checkpoints that resume exactly.

Keras 3's `stateful=True` keeps the state in layer variables that `save_weights` skips
and `model.export` captures, and fixes the batch size silently. Here the model is a
pure function of (token ids, state), as `zoo.models.language_model` builds it:

    logits, *new_state = model([token_ids, *state])

and `StatefulTrainer` runs the recipes' rule (`zoo.training.tbptt.TBPTTRule`) on the
streams `zoo.data.streams` cuts from the user's text or ids:

    model = language_model_from_layers(vocab_size, [zoo.layers.LSTM(256)], 64)
    trainer = tbptt_fit(model, text, k1=50, k2=100, batch_size=32, epochs=3,
                        checkpoint_dir="run")            # run again: resumes from "run"
    trainer.get_states()                                 # the carried state, NumPy
"""

import json
import numbers

import keras
import numpy as np
import tensorflow as tf

from zoo.data.streams import cut_into_streams, window_count
from zoo.data.tokens import CharacterVocabulary
from zoo.training.checkpoints import RunCheckpoints
from zoo.training.tbptt import TBPTTRule


class StatefulTrainer:
    """TBPTT(k1, k2) over `batch_size` streams of a state-in/state-out model.

    Args:
        model: `logits, *state = model([token_ids, *state])`, every state [batch, width].
        batch_size: Number of streams; the carried state is [batch_size, width].
        k1: Steps between updates (and steps scored per window).
        k2: Steps backpropagated per update (default k1).
        optimizer: A Keras optimizer or its name.
        clip_norm: Clip the gradients' global norm (0: off).
        checkpoint_dir: Where checkpoints go; an existing one is resumed from.
    """

    def __init__(self, model, batch_size, k1, k2=None, optimizer="adam", clip_norm=0.0, checkpoint_dir=None):
        self.vocab_size = check_state_contract(model, batch_size)
        self.model = model
        self.batch_size = batch_size
        self.optimizer = keras.optimizers.get(optimizer)
        self.rule = TBPTTRule(model, self.optimizer, batch_size, k1, k1 if k2 is None else k2, clip_norm)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.vocabulary = None  # the text's, when `tbptt_fit` encoded one
        self.losses = []  # each update's loss, of the `tbptt_fit` that made the trainer
        self.checkpoints = None
        if checkpoint_dir is not None:
            settings = {"batch_size": batch_size, "k1": self.rule.k1, "k2": self.rule.k2, "clip_norm": clip_norm}
            self.checkpoints = RunCheckpoints(checkpoint_dir, model, self.optimizer,
                                              {**self.rule.checkpointed(), "epoch": self.epoch},
                                              json.dumps(settings, sort_keys=True),
                                              settings=("StatefulTrainer", "a checkpoint folder resumes only "
                                                        "with the settings it was written with"))
            self.checkpoints.restore_latest()

    def fit(self, ids, epochs=1, windows=None, checkpoint_every=0):
        """Train until `epochs` epochs are done in all (counting resumed ones), or after
        `windows` updates in this call; returns the mean loss (nats per scored token) of
        each update. Where the trainer has a `checkpoint_dir`, saves a checkpoint at the end
        of every epoch and of the call, and every `checkpoint_every` updates (0: no more)."""
        self.rule.streams = self.streams(ids)
        losses = []
        while int(self.epoch.numpy()) < epochs and (windows is None or len(losses) < windows):
            for inputs, targets in self.rule.batches():
                losses.append(float(self.rule.train_step(inputs, targets)["loss"]))
                if self.checkpoints is not None:
                    self.checkpoints.step.assign_add(1)
                    if checkpoint_every and int(self.checkpoints.step) % checkpoint_every == 0:
                        self.save()
                if windows is not None and len(losses) == windows:
                    break
            else:
                self.epoch.assign_add(1)
                self.save()
        self.save()  # where `windows` stopped the call inside an epoch
        return losses

    def save(self):
        """Write a checkpoint (where the trainer has a `checkpoint_dir`) unless the newest
        one already holds this update."""
        if self.checkpoints is not None and self.checkpoints.manager.latest_checkpoint != \
                f"{self.checkpoints.folder}/ckpt-{int(self.checkpoints.step)}":
            self.checkpoints.save()

    def streams(self, ids):
        """[batch_size, stream_length] int32 streams of `ids`, checked against the model."""
        ids = np.asarray(ids)
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"StatefulTrainer: the data must be a 1-D array of integer ids, received "
                             f"{ids.dtype} of shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"StatefulTrainer: ids must be in [0, {self.vocab_size}) (the model's "
                             f"logits), received ids from {ids.min()} to {ids.max()}")
        streams = cut_into_streams(ids, self.batch_size)
        if window_count(streams.shape[1], self.rule.k1, self.rule.k2) == 0:
            raise ValueError(f"StatefulTrainer: {ids.size} ids make {self.batch_size} streams of "
                             f"{streams.shape[1]}, shorter than one window of k2 + 1 = {self.rule.k2 + 1}")
        return streams

    def reset_states(self):
        """Zero the carried state."""
        self.rule.reset_state()

    def get_states(self):
        """The carried state: one [batch_size, width] float32 array per state input."""
        return [variable.numpy() for variable in self.rule.carried_state]

    def set_states(self, states):
        """Replace the carried state; every array must have its exact shape (no broadcast)."""
        states = [np.asarray(state, dtype=np.float32) for state in states]
        carried = self.rule.carried_state
        if len(states) != len(carried):
            raise ValueError(f"set_states: the model carries {len(carried)} states, received {len(states)}")
        for index, (state, variable) in enumerate(zip(states, carried)):
            if state.shape != tuple(variable.shape):
                raise ValueError(f"set_states: state {index} must be {tuple(variable.shape)} "
                                 f"(batch_size {self.batch_size} x its width), received {state.shape}")
        for state, variable in zip(states, carried):
            variable.assign(state)


def check_state_contract(model, batch_size):
    """The model's vocabulary size (its logits' width), or a ValueError naming what of the
    contract `logits, *state = model([token_ids, *state])` the model breaks."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"StatefulTrainer: batch_size must be a positive integer, received {batch_size!r}")
    state_inputs, state_outputs = model.inputs[1:], model.outputs[1:]
    expected = ("the model must be logits, *state = model([token_ids, *state]) "
                "(zoo.models.language_model_from_layers builds one)")
    if not state_inputs or len(state_inputs) != len(state_outputs):
        raise ValueError(f"StatefulTrainer: model {model.name!r} has {len(state_inputs)} state inputs and "
                         f"{len(state_outputs)} state outputs; {expected}")
    for spec, out in zip(state_inputs, state_outputs):
        if len(spec.shape) != 2 or tuple(spec.shape[1:]) != tuple(out.shape[1:]):
            raise ValueError(f"StatefulTrainer: state input {spec.name!r} {tuple(spec.shape)} does not "
                             f"match its output {tuple(out.shape)}; {expected}")
    for spec in model.inputs:
        if spec.shape[0] is not None and spec.shape[0] != batch_size:
            raise ValueError(f"StatefulTrainer: model input {spec.name!r} has batch size {spec.shape[0]}, "
                             f"but batch_size is {batch_size}")
    return model.outputs[0].shape[-1]


def tbptt_fit(model, data, k1, k2=None, batch_size=32, epochs=1, optimizer="adam", clip_norm=0.0,
              vocabulary=None, checkpoint_dir=None, checkpoint_every=0):
    """Train `model` with TBPTT(k1, k2) on `data` and return the `StatefulTrainer`.

    Args:
        model: A state-in/state-out model (`StatefulTrainer`).
        data: A text (encoded by `vocabulary`, default every character of the text) or a
            1-D array of integer ids.
        k1, k2, batch_size, optimizer, clip_norm, checkpoint_dir: As `StatefulTrainer`
            takes them; with a `checkpoint_dir` that holds checkpoints, training resumes
            from the newest and runs until `epochs` epochs are done in all.
        epochs: Passes over the streams.
        vocabulary: A `zoo.data.CharacterVocabulary` for a text `data`.
        checkpoint_every: Updates between checkpoints besides the one at each epoch's end.

    The trainer's `vocabulary` is the one the text was encoded with (None for ids).
    """
    if isinstance(data, str):
        vocabulary = vocabulary or CharacterVocabulary.from_text(data, source="the text")
        data = vocabulary.encode(data)
    trainer = StatefulTrainer(model, batch_size, k1, k2, optimizer, clip_norm, checkpoint_dir)
    trainer.vocabulary = vocabulary
    trainer.losses = trainer.fit(data, epochs, checkpoint_every=checkpoint_every)
    return trainer
