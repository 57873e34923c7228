"""ONNX files of the id-input signatures (`export.portable`), converted with tf2onnx and
run by onnxruntime.

The signature is frozen with its loops kept as functional `While` ops
(`lower_control_flow=False`: lowered to TF1 Enter/Switch/Merge, tf2onnx wrote loop
tensors of no type that onnxruntime refused). tf2onnx writes a file even when an op has
no ONNX counterpart (it keeps the TensorFlow node and says "Successfully converted"), so
every op of the file is looked up in ONNX's schemas and the file is loaded in
onnxruntime before it is kept; either failure is one line naming the signature and the
op.

Names: inputs keep the signature's names; ONNX values are written once, so an output
named like an input (a state) is renamed NEXT_PREFIX + name. Those are the input and
output a Triton sequence batcher's implicit state pairs (docs/deploy.md).
"""

import numpy as np
import tensorflow as tf

from zoo.run.errors import InputError

FORMAT = "onnx"
NEXT_PREFIX = "next_"
OPSET = 17


def convert(saved_model, signature):
    """The `onnx.ModelProto` of `signature` of the SavedModel folder `saved_model`, with
    the signature's input and output names, or InputError naming the op ONNX lacks."""
    import onnx
    import tf2onnx
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    loaded = tf.saved_model.load(str(saved_model))
    function = loaded.signatures[signature]
    frozen = convert_variables_to_constants_v2(function, lower_control_flow=False, aggressive_inlining=True)
    input_names = [tensor.name for tensor in frozen.inputs]
    output_names = [tensor.name for tensor in frozen.outputs]
    try:
        model, _ = tf2onnx.convert.from_graph_def(frozen.graph.as_graph_def(), input_names=input_names,
                                                  output_names=output_names, opset=OPSET)
    except Exception as error:
        first_line = str(error).strip().splitlines()[0][:300]
        raise InputError(f"{signature}: not in {FORMAT} (tf2onnx: {first_line})") from None
    unknown = sorted({node.op_type for node in _nodes(model.graph)
                      if not onnx.defs.has(node.op_type, node.domain or "")})
    if unknown:
        raise InputError(f"{signature}: not in {FORMAT} (TensorFlow op {', '.join(unknown)} has no ONNX "
                         f"counterpart in opset {OPSET})")
    # Outputs in the signature's order (sorted names, as tf.nest flattens its dict).
    outputs = sorted(function.structured_outputs)
    renames = {name: name.split(":")[0] for name in input_names}
    taken = set(renames.values())
    renames.update({tensor: output_name(name, taken) for tensor, name in zip(output_names, outputs)})
    _rename(model.graph, renames)
    try:
        import onnxruntime
        onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as error:
        raise InputError(f"{signature}: not in {FORMAT} (onnxruntime refused the converted file: "
                         f"{str(error).strip().splitlines()[0][:300]})") from None
    return model


def output_name(name, input_names):
    """The ONNX name of the signature's output `name` (see the module docstring)."""
    return NEXT_PREFIX + name if name in input_names else name


def run(model, inputs):
    """{output: array} of one call of the ONNX file `model` (bytes or path) in onnxruntime."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model if isinstance(model, bytes) else str(model),
                                           providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, {name: np.asarray(value) for name, value in inputs.items()})))


def _nodes(graph):
    import onnx

    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from _nodes(attribute.g)


def _rename(graph, renames, top=True):
    """Rename values of the top graph (its inputs, outputs and nodes) and their uses
    inside loop bodies."""
    import onnx

    if top:
        for value in list(graph.input) + list(graph.output) + list(graph.value_info):
            value.name = renames.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        if top:
            node.output[:] = [renames.get(name, name) for name in node.output]
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                _rename(attribute.g, renames, top=False)
