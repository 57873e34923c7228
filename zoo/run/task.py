"""The task contract: what a recipe supplies to the shared core, and nothing more.

A recipe module is a frozen config (`zoo.run.config.TrainingConfig` and its own fields), a
task, and a short `main`. The core (`zoo.training.loop`, `zoo.run.cli`, `export`) does the rest
for every recipe: run folder, progress, validation, TensorBoard, checkpoints with exact
resume, clean stops, the non-finite guard, bad input in one line, export.

    class MyTask(Task):
        name, module, config_class, hparams        who it is, and what HParams shows
        fused_passes_only                           every recurrent layer a fused pass
        assets_file                                 the run's JSON file of dict assets
        prepare(config, saved_assets) -> data      load and check every input (InputError),
                                                    before anything is written; data.assets
        save_assets(assets, folder)                 what rebuilds the model, in the run
        load_assets(folder) -> assets               (JSON in assets_file by default)
        build_model(config, assets, inference)      Keras model (inference: dropout 0)
        update_rule(config, model, optimizer, data) an update rule (`zoo.training.update_rule`):
                                                    TBPTT, minibatch, generated or ridge
        evaluator(config, model, data)              -> evaluate(step) -> Evaluation
        serving(model, assets, folder)              -> an `export.serving.ServingModule`
        portable_signatures(model, assets)          -> `export.portable.PortableForms`: the
                                                    id-input forms LiteRT and ONNX take
        generator(model, assets)                    (text models) -> generate(prompt,
                                                    length, temperature, top_k, top_p, seed)

    TASK = MyTask()   # in the recipe module: how a run folder finds its task

The methods below that have a body are defaults a task may keep.
"""

import dataclasses
import json
import pathlib

from zoo.run.errors import InputError


@dataclasses.dataclass
class Evaluation:
    """What one validation produced.

    Attributes:
        metrics: Scalars for TensorBoard, e.g. {"valid/loss": 1.2}.
        summary: One line for the console.
        texts: TensorBoard text (Markdown) by tag.
        images: TensorBoard images (PNG bytes) by tag.
        outputs: Anything else handed back to the caller of `train_and_evaluate`.
    """
    metrics: dict
    summary: str = ""
    texts: dict = dataclasses.field(default_factory=dict)
    images: dict = dataclasses.field(default_factory=dict)
    outputs: dict = dataclasses.field(default_factory=dict)


class Task:
    """Base of the recipes' tasks (see the module docstring)."""

    name = "task"          # the recipe's name: HParams' `recipe`, default model name
    module = None          # the importable module that holds TASK, e.g. "recipes.char_lm"
    config_class = None
    hparams = ()           # config fields shown in TensorBoard's HParams
    # True where every recurrent layer the task builds is a fused pass over the batch's rows
    # of `config.units` units (no step loop, such as a decoder's): the command line may then
    # give each row group of the passes a core (`zoo.fused.schedule.claim_core_per_group`).
    fused_passes_only = False
    assets_file = None     # the run folder's JSON file of the assets (a dict), by default

    def save_assets(self, assets, folder):
        """Write the assets (a JSON-able dict) into the run folder as `assets_file`."""
        (folder / self.assets_file).write_text(json.dumps(assets, ensure_ascii=False) + "\n", encoding="utf-8")

    def load_assets(self, folder):
        """`save_assets`' dict, or InputError when `folder` holds no `assets_file`."""
        path = pathlib.Path(folder) / self.assets_file
        if not path.exists():
            raise InputError(f"{folder}: no {self.assets_file}; expected a {self.name} run folder")
        return json.loads(path.read_text(encoding="utf-8"))

    def run_name(self, config):
        """The run folder's name after its time stamp."""
        return self.name

    def describe(self, config, data):
        """One line about the data, printed when training starts."""
        return ""

    def train_scalars(self, loss):
        """Scalars derived from a training loss, besides train/loss itself."""
        return {}

    def generator(self, model, assets):
        raise InputError(f"{self.module} does not generate text from a prompt")

    def portable_signatures(self, model, assets):
        """None: the recipe names no id-input form (`export.portable.PortableForms`)."""
        return None

    def hparams_of(self, config):
        return {"recipe": self.name, **{field: getattr(config, field) for field in self.hparams}}
