"""LiteRT (TensorFlow Lite) files of the id-input signatures (`export.portable`), run by
the standalone `ai-edge-litert` interpreter.

Builtin ops only: the standalone interpreter has no Flex delegate, so a signature that
needs a TensorFlow op (`SELECT_TF_OPS`) or a custom op is refused in one line naming
the op. Variables are frozen into the file (`experimental_enable_resource_variables`
off: with it on, TF 2.21 keeps them as uninitialised resource variables, and every
output read NaN).

    --quantize none      float32 weights and arithmetic
    --quantize float16   float16 weights, dequantised to float32 when the file loads
    --quantize int8      dynamic-range int8: int8 weights, activations quantised on the
                         fly per call (no calibration data)
"""

import re

import numpy as np
import tensorflow as tf

from zoo.run.errors import InputError

QUANTIZE = ("none", "float16", "int8")
FORMAT = "litert"


def convert(saved_model, signature, quantize="none"):
    """The `.tflite` bytes of `signature` of the SavedModel folder `saved_model`, or
    InputError naming the op the builtin set lacks."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=[signature])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.experimental_enable_resource_variables = False
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    try:
        return converter.convert()
    except Exception as error:  # tf.lite's ConverterError, among others
        raise InputError(f"{signature}: not in {FORMAT} ({missing_ops(str(error))})") from None


def missing_ops(message):
    """What the converter's error says is missing: the TF Select or custom ops it names,
    else the first op it could not lower and why, else its first error line."""
    found = re.search(r"(?:TF Select ops|Custom ops): ([\w, ]+)", message)
    if found:
        ops = found.group(1).strip()
        return f"needs the TensorFlow op {ops}, which only a Flex delegate or a custom op runs; builtin ops only"
    found = re.search(r"'tf\.(\w+)' op ([^\n]+)", message)
    if found:
        return f"TensorFlow op {found.group(1)}: {found.group(2).strip()[:200]}"
    lines = [line.strip() for line in message.splitlines() if "error" in line.lower()]
    return (lines or [message.strip()])[0][:300]


def run(model, signature, inputs):
    """{output: array} of one call of `signature` of the `.tflite` bytes or path `model`."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model) if isinstance(model, bytes) else Interpreter(model_path=str(model))
    return {name: np.asarray(value) for name, value in interpreter.get_signature_runner(signature)(**inputs).items()}
