"""The served module of `recipes.long_range` runs: `predict` over raw sequences, and
`step`, one time step with the recurrent state carried by the client.

    predict   sequences float32 [batch, time, features]      -> the task's prediction
    step      inputs float32 [batch, features], state_L_K     -> the prediction as if the
              sequence ended at this step, state_L_K           sequence ended here

state_L_K is state tensor K of layer L, [batch, width] (`state_names`): h for an Elman
cell, h and c for an LSTM, the NTM's h, c, read vector, read and write weightings and
its memory flattened row-major to [batch, N * M], the Clockwork cell's h and step
counter. All zeros start a sequence. Stepping a sequence through `step` gives at its
last step what `predict` gives for the whole sequence.

Requests are checked before any work (`export.requests`): 1 to MAX_BATCH sequences of
1 to MAX_TIME steps with the task's feature count, finite values, batch x time cell
steps within the export's budget; states of the model's widths, finite, one row per
input; an output that overflows is refused.
"""

import numpy as np
import tensorflow as tf

from export.portable import BATCH, Portable, PortableForms
from export.requests import all_finite, any_shape, checked, dims, int64, state_rules, within_budget
from export.serving import MAX_BATCH, ServingModule
from zoo.data.synthetic import ORDER_CLASSES, TASKS
from zoo.evaluation.gradient_flow import recurrent_cells

MAX_TIME = 100000  # the longest sequences the recipe trains on


def state_names(model):
    """[(name, width)] of the state tensors `step` carries: state_L_K, layer L's K-th."""
    return [(f"state_{layer}_{k}", int(width)) for layer, cell in enumerate(recurrent_cells(model))
            for k, width in enumerate(cell.state_size)]


def step_outputs(model, inputs, states):
    """(the model's outputs [batch, outputs] at one step, the new states): the stacked
    cells' step, then the readout, as the whole model computes it at that step."""
    hidden, new_states, offset = inputs, [], 0
    for cell in recurrent_cells(model):
        count = len(cell.state_size)
        hidden, layer_states = cell(hidden, list(states[offset:offset + count]), training=False)
        new_states += list(layer_states)
        offset += count
    return model.get_layer("readout")(hidden), new_states


class LongRangeServer(ServingModule):
    """`predict`: sequences float32 [batch, time, features] -> the task's prediction:
    `prediction` [batch] (adding), `probabilities` [batch, 4] and `label` (temporal
    order), `probabilities` [batch, time, 10] and `symbol_ids` [batch, time] (copy), or
    `bit_probabilities` and `bits` [batch, time, 8] (NTM copy: the copy is the last L steps
    of a request of 2 L + 1). `step`: one step, the states in and out (module docstring);
    the per-step tasks' outputs lose their time axis there."""

    # The default model (one layer of 64 units) at this budget: docs/serving.md.
    DEFAULT_BUDGET = 1 << 20

    def __init__(self, model, assets, folder, budget=0):
        super().__init__(model, name="long_range_server", budget=budget)
        self.assets = assets
        self.predict = tf.function(self._predict, input_signature=[any_shape(tf.float32, "sequences")])
        self.states = state_names(model)
        self.step = tf.function(self._step, input_signature=[
            any_shape(tf.float32, "inputs"), *(any_shape(tf.float32, name) for name, _ in self.states)])
        self.track_variables()
        self.record_budget(folder, {"predict": "batch x time", "step": "batch"},
                           {"batch": MAX_BATCH, "time": MAX_TIME})

    def _predict(self, sequences):
        spec = TASKS[self.assets["task"]]
        shape = lambda inputs: dims(inputs["sequences"], 3)
        sequences = self.checked("predict", {"sequences": sequences}, [
            (lambda inputs: tf.equal(shape(inputs)[2], spec.features),
             f"sequences: {spec.features} features per step, as in training"),
            (lambda inputs: (shape(inputs)[0] >= 1) & (shape(inputs)[0] <= MAX_BATCH),
             f"sequences: 1 to {MAX_BATCH} per request"),
            (lambda inputs: (shape(inputs)[1] >= 1) & (shape(inputs)[1] <= MAX_TIME),
             f"sequences: 1 to {MAX_TIME} time steps"),
            within_budget(lambda inputs: int64(shape(inputs)[0]) * int64(shape(inputs)[1]), self.budget,
                          "sequences: batch x time"),
            (lambda inputs: tf.reduce_all(tf.math.is_finite(inputs["sequences"])), "sequences: values must be finite"),
        ], {"sequences": ([None, None, spec.features], f"float32 [batch, time, {spec.features}]")})["sequences"]
        outputs = checked({"outputs": self.model(sequences, training=False)}, [all_finite(
            ["outputs"], "sequences: values so large that the model output overflows; expected values on the "
             "scale of the task")])["outputs"]
        return self._answer(spec, outputs)

    def _step(self, inputs, *states):
        spec = TASKS[self.assets["task"]]
        shape = lambda request: dims(request["inputs"], 2)
        rules = [
            (lambda request: tf.equal(shape(request)[1], spec.features),
             f"inputs: {spec.features} features, as in training"),
            (lambda request: (shape(request)[0] >= 1) & (shape(request)[0] <= MAX_BATCH),
             f"inputs: 1 to {MAX_BATCH} rows per request"),
            within_budget(lambda request: int64(shape(request)[0]), self.budget, "inputs: batch"),
            (lambda request: tf.reduce_all(tf.math.is_finite(request["inputs"])), "inputs: values must be finite"),
        ] + state_rules(self.states, lambda request: shape(request)[0], "inputs")
        request = self.checked("step", {"inputs": inputs, **{name: s for (name, _), s in zip(self.states, states)}},
                               rules, {"inputs": ([None, spec.features], f"float32 [batch, {spec.features}]"),
                                       **{name: ([None, width], f"float32 [batch, {width}]")
                                          for name, width in self.states}})
        outputs, new_states = step_outputs(self.model, request["inputs"], [request[name] for name, _ in self.states])
        names = [name for name, _ in self.states]
        result = checked({"outputs": outputs, **dict(zip(names, new_states))}, [all_finite(
            ["outputs", *names], f"{', '.join(names)}: values so large that the step overflows; expected states "
            "that step returned")])
        return {**self._answer(spec, result["outputs"]), **{name: result[name] for name in names}}

    @staticmethod
    def _answer(spec, outputs):
        """The task's served outputs of the model's outputs (per step or per sequence)."""
        if spec.regression:
            return {"prediction": outputs[:, 0]}
        if spec.bits:
            return {"bit_probabilities": tf.sigmoid(outputs), "bits": tf.cast(outputs > 0, tf.int32)}
        probabilities = tf.nn.softmax(outputs)
        if spec.per_step:
            return {"probabilities": probabilities, "symbol_ids": tf.argmax(outputs, -1, tf.int32)}
        class_id = tf.argmax(outputs, -1, tf.int32)
        return {"probabilities": probabilities, "class_id": class_id,
                "label": tf.gather(tf.constant(ORDER_CLASSES), class_id)}

    def signatures(self):
        return {"predict": self.predict, "step": self.step}

    def warmup_requests(self):
        spec = TASKS[self.assets["task"]]
        inputs, _ = spec.generate(np.random.default_rng(0), 2, self.assets["length"])
        zeros = {name: np.zeros((2, width), np.float32) for name, width in self.states}
        return [("predict", {"sequences": inputs}), ("step", {"inputs": inputs[:, 0], **zeros})]


def portable_forms(model, assets):
    """The id-input form of `predict` for LiteRT and ONNX (`export.portable`): raw
    sequences in, the served outputs out but the temporal-order label (a string; the
    manifest lists the labels by class id)."""
    spec = TASKS[assets["task"]]

    def predict(inputs):
        answer = LongRangeServer._answer(spec, model(inputs["sequences"], training=False))
        answer.pop("label", None)
        return answer

    def example(batch, rng):
        return {"sequences": spec.generate(rng, batch, min(assets["length"], 40))[0].astype(np.float32)}

    labels = {} if spec.regression or spec.per_step else {"labels": list(ORDER_CLASSES)}
    return PortableForms(
        signatures=[Portable("predict", {"sequences": (tf.float32, (BATCH, None, spec.features))}, predict, example,
                             f"sequences: finite, [batch, time >= 1, {spec.features}] as the task generates them")],
        refused={"step": "the SavedModel serves it; its LiteRT and ONNX forms are not built yet"}, metadata=labels)
