"""Id-input forms of the served signatures, for runtimes without TensorFlow (LiteRT,
ONNX Runtime).

A served signature checks its request in the graph and often starts from strings; the
converters take neither (`UnicodeDecode` and the assertion ops have no LiteRT builtin
or ONNX counterpart, tf2onnx has no `StatelessMultinomial`). A recipe's task names, with
`portable_signatures(model, assets)` (a `PortableForms`), the forms that convert: pure functions of ids,
features and states that compute what the served signature computes after its checks,
and a reason for each served signature that has none.

    Portable(name, inputs, compute, example, app_checks)
        inputs    {input name: (dtype, shape)}, shape a tuple with BATCH for the rows and
                  None for any other free size (time, memory steps)
        compute   {input name: tensor} -> {output name: tensor}
        example   (batch, numpy Generator) -> {input name: array}, a valid request
        app_checks what the app must check before a call (the file checks nothing)

`saved_portable(portables, batch, folder)` writes them as one SavedModel (the variables
they capture tracked as `tf.Variable`s, which is what the LiteRT converter freezes into
constants), with the rows fixed to `batch` (LiteRT: loops need a static batch) or left
free (None: ONNX).
"""

import dataclasses
import inspect

import tensorflow as tf

from zoo.layers.recurrent import portable_kernels

BATCH = "batch"


@dataclasses.dataclass(frozen=True)
class Portable:
    """One id-input signature (see the module docstring)."""
    name: str
    inputs: dict
    compute: object
    example: object
    app_checks: str

    def specs(self, batch):
        """The input `tf.TensorSpec`s with the rows fixed to `batch` (None: free)."""
        return [tf.TensorSpec([batch if size == BATCH else size for size in shape], dtype, name=name)
                for name, (dtype, shape) in self.inputs.items()]

    def described_inputs(self):
        """{input name: {"dtype", "shape"}} for the export's manifest."""
        return {name: {"dtype": dtype.name, "shape": [size if size == BATCH else (size or "any") for size in shape]}
                for name, (dtype, shape) in self.inputs.items()}


@dataclasses.dataclass(frozen=True)
class PortableForms:
    """A task's id-input signatures, a reason for each served signature without one
    ({name: reason}), and what an app needs beside the files (vocabulary, labels), for
    the export's manifest."""
    signatures: list
    refused: dict
    metadata: dict


def named_function(portable, batch):
    """`portable.compute` as a `tf.function` whose arguments carry the inputs' names, so the
    SavedModel signature, the LiteRT signature runner and the ONNX graph all name them."""
    names = list(portable.inputs)

    def compute(*tensors):
        return portable.compute(dict(zip(names, tensors)))

    compute.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names])
    return tf.function(compute, input_signature=portable.specs(batch))


def saved_portable(portables, batch, folder):
    """Write `portables` as one SavedModel in `folder`, one signature each, traced without
    cuDNN kernels; returns `folder`."""
    module = tf.Module()
    functions = {}
    with portable_kernels():
        for portable in portables:
            functions[portable.name] = named_function(portable, batch)
            setattr(module, f"signature_{len(functions)}", functions[portable.name])
        captured = {}
        for function in functions.values():
            for variable in function.get_concrete_function().variables:
                captured.setdefault(id(variable), variable)
    module.captured_variables = list(captured.values())
    tf.saved_model.save(module, str(folder), signatures=functions)
    return folder
