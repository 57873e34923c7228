"""TF Serving warm-up records: `assets.extra/tf_serving_warmup_requests`.

A TFRecord file of `tensorflow.serving.PredictionLog` protos, each holding a
`PredictLog` with one `PredictRequest` (TF Serving replays at most 1000 at load time, so
the first real request does not pay for graph initialisation). The message types are
declared here from TF Serving's .proto field numbers (apis/prediction_log.proto,
predict.proto, model.proto) because the `tensorflow-serving-api` wheel requires the
full `tensorflow` package, which conflicts with `tensorflow-cpu`; only the fields a
warm-up request uses are declared, and unknown fields are skipped by any proto reader.
"""

import tensorflow as tf
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2
from tensorflow.core.framework import tensor_pb2

WARMUP_FILE = "tf_serving_warmup_requests"
PACKAGE = "tensorflow.serving"


def _declare_messages():
    proto = descriptor_pb2.FileDescriptorProto(
        name="zoo_export/tensorflow_serving_prediction_log.proto", package=PACKAGE,
        syntax="proto3", dependency=[tensor_pb2.DESCRIPTOR.name, wrappers_pb2.DESCRIPTOR.name])
    F = descriptor_pb2.FieldDescriptorProto

    def message(name, *fields, nested=()):
        declared = proto.message_type.add(name=name)
        for field_name, number, kind, type_name, repeated in fields:
            declared.field.add(name=field_name, number=number, type=kind, type_name=type_name,
                               label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
        for entry in nested:
            declared.nested_type.add().CopyFrom(entry)
        return declared

    inputs_entry = descriptor_pb2.DescriptorProto(name="InputsEntry")
    inputs_entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    inputs_entry.field.add(name="value", number=2, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                           type_name=".tensorflow.TensorProto")
    inputs_entry.options.map_entry = True
    message("ModelSpec", ("name", 1, F.TYPE_STRING, None, False),
            ("version", 2, F.TYPE_MESSAGE, ".google.protobuf.Int64Value", False),
            ("signature_name", 3, F.TYPE_STRING, None, False))
    message("PredictRequest", ("model_spec", 1, F.TYPE_MESSAGE, f".{PACKAGE}.ModelSpec", False),
            ("inputs", 2, F.TYPE_MESSAGE, f".{PACKAGE}.PredictRequest.InputsEntry", True),
            nested=[inputs_entry])
    message("PredictLog", ("request", 1, F.TYPE_MESSAGE, f".{PACKAGE}.PredictRequest", False))
    message("PredictionLog", ("predict_log", 6, F.TYPE_MESSAGE, f".{PACKAGE}.PredictLog", False))
    pool = descriptor_pool.DescriptorPool()
    for dependency in (tensor_pb2.DESCRIPTOR, wrappers_pb2.DESCRIPTOR):
        for file in _with_dependencies(dependency):
            try:
                pool.Add(file)
            except TypeError:  # already added through another dependency
                pass
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.PredictionLog"))


def _with_dependencies(file_descriptor, seen=None):
    seen = set() if seen is None else seen
    for dependency in file_descriptor.dependencies:
        yield from _with_dependencies(dependency, seen)
    if file_descriptor.name not in seen:
        seen.add(file_descriptor.name)
        yield descriptor_pb2.FileDescriptorProto.FromString(file_descriptor.serialized_pb)


PredictionLog = _declare_messages()


def prediction_log(model_name, signature_name, inputs):
    """A PredictionLog whose request calls `signature_name` with `inputs` (name -> array)."""
    log = PredictionLog()
    request = log.predict_log.request
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    for name, value in inputs.items():
        # Through bytes: this module's TensorProto class lives in its own descriptor pool.
        request.inputs[name].ParseFromString(tf.make_tensor_proto(value).SerializeToString())
    return log


def write_warmup(folder, logs):
    """Write `logs` (PredictionLog messages) as TF Serving's warm-up file in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(folder / WARMUP_FILE)) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
