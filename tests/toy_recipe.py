"""A throwaway recipe over the shared core, the proof that the core is generic: a
many-to-one classifier of variable-length token sequences, trained with the minibatch
rule. `python -m toy_recipe` (with `tests/` on the path) runs it like any recipe.

Task: does a sequence of ids 1..7 (0 pads) hold more 1s than 2s?
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from export.requests import any_shape, dims, int64, within_budget
from export.saved_model import export_run
from export.serving import ServingModule
from zoo.cells import CELLS
from zoo.layers.recurrent import RecurrentLayer
from zoo.run.cli import train_from_command_line
from zoo.run.config import TrainingConfig, exit_on_input_error, setting
from zoo.run.task import Evaluation, Task
from zoo.training.minibatch import MinibatchRule

VOCAB, LENGTH = 8, 12


@dataclasses.dataclass(frozen=True)
class ToyConfig(TrainingConfig):
    examples: int = setting(512, "generated training sequences", minimum=8)
    cell: str = setting("gru", "recurrent cell", choices=tuple(CELLS))
    units: int = setting(16, "hidden size", minimum=1)
    batch_size: int = setting(32, "sequences per update", minimum=1)
    steps: int = setting(60, "updates", minimum=1)
    model_name: str = setting("toy", "TF Serving model name")


SMOKE = dict(steps=12, validate_every=6, checkpoint_every=4, histogram_every=4, warmup_steps=2)


def sequences(count, seed):
    """(ids [count, LENGTH] right-padded with 0, labels [count])."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, LENGTH + 1, count)
    ids = np.where(np.arange(LENGTH) < lengths[:, None], rng.integers(1, VOCAB, (count, LENGTH)), 0)
    return ids.astype(np.int32), ((ids == 1).sum(1) > (ids == 2).sum(1)).astype(np.int32)


class ToyServer(ServingModule):
    DEFAULT_BUDGET = 4096

    def __init__(self, model, folder, budget):
        super().__init__(model, name="toy_server", budget=budget)
        self.classify = tf.function(self._classify, input_signature=[
            any_shape(tf.int32, "token_ids")])
        self.track_variables()
        self.record_budget(folder, {"classify": "batch x time"}, {})

    def _classify(self, token_ids):
        shape = lambda inputs: dims(inputs["token_ids"], 2)
        token_ids = self.checked("classify", {"token_ids": token_ids}, [
            within_budget(lambda inputs: int64(shape(inputs)[0]) * int64(shape(inputs)[1]), self.budget,
                          "token_ids: batch x time"),
            (lambda inputs: tf.reduce_all((inputs["token_ids"] >= 0) & (inputs["token_ids"] < VOCAB)),
             f"token_ids: ids 0 to {VOCAB - 1}")], {"token_ids": ([None, None], "int32 [batch, time]")})["token_ids"]
        return {"probabilities": tf.nn.softmax(self.model(token_ids, training=False))}

    def signatures(self):
        return {"classify": self.classify}

    def warmup_requests(self):
        return [("classify", {"token_ids": sequences(2, 0)[0]})]


def batch_loss(model, batch, training):
    ids, labels = batch
    return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
        labels, model(ids, training=training), from_logits=True))


class ToyTask(Task):
    name, module, config_class, hparams = "toy", __spec__.name, ToyConfig, ("cell", "units")

    def prepare(self, config, saved_assets=None):
        return dataclasses.make_dataclass("Data", ["assets", "train", "valid"])(
            None, sequences(config.examples, config.seed), sequences(64, config.seed + 1))

    def save_assets(self, assets, folder):
        pass  # the model needs nothing beyond its config

    def load_assets(self, folder):
        return None

    def build_model(self, config, assets, inference=False):
        ids = keras.Input((None,), dtype="int32")
        hidden = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(ids)
        hidden = RecurrentLayer(CELLS[config.cell](config.units))(hidden)
        return keras.Model(ids, keras.layers.Dense(2)(hidden))

    def update_rule(self, config, model, optimizer, data):
        return MinibatchRule(model, optimizer, batch_loss, data.train, config.batch_size,
                                config.seed, config.clip_norm, config.clip_value)

    def evaluator(self, config, model, data):
        def evaluate(step):
            ids, labels = data.valid
            accuracy = float(np.mean(np.argmax(model(ids), -1) == labels))
            return Evaluation({"valid/loss": float(batch_loss(model, data.valid, False)),
                               "valid/accuracy": accuracy}, f"accuracy {accuracy:.3f}")
        return evaluate

    def serving(self, model, assets, folder, budget=0):
        return ToyServer(model, folder, budget)


TASK = ToyTask()


@exit_on_input_error
def main(argv=None):
    config, result = train_from_command_line(TASK, argv, SMOKE, "Train the toy classifier.")
    if result is not None:
        print(f"export: {export_run(result['run_dir'], config.export_dir or None)}")


if __name__ == "__main__":
    main()
