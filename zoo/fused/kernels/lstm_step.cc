// One LSTM step's elementwise work as one op each way, for the fused pass on a CPU
// (zoo/fused/lstm.py, built and loaded by zoo/fused/native.py).
//
// A TensorFlow graph runs each elementwise op of a step on its own: the forward step is
// ten ops, the backward fourteen, each reading and writing [batch, units] tensors. Here
// each direction is one pass over the rows. Gate columns are i, f, o, c.
//
// ZooLstmStep(projected, recurrent, c_prev) -> (h, c, gates, tanh_c):
//   Z = projected + recurrent                    (x_t W + b  and  h_{t-1} U)
//   [i f o] = sigmoid(Z_ifo),  g = tanh(Z_c),    gates = [i f o g]
//   c = f * c_prev + i * g,    tanh_c = tanh(c), h = o * tanh_c
//
// ZooLstmStepGrad(d_h, d_h_output, d_c, gates, tanh_c, c_prev) -> (d_z, d_c_prev):
//   dh  = d_h + d_h_output                       (from step t+1 and from the output h_t)
//   dc  = d_c + dh * o * (1 - tanh_c^2)
//   d_z = [dc * g * i (1 - i),  dc * c_prev * f (1 - f),  dh * tanh_c * o (1 - o),
//          dc * i * (1 - g^2)]
//   d_c_prev = dc * f
//
// The activations are Eigen's, as TensorFlow's Sigmoid and Tanh kernels use.

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace {

using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::shape_inference::InferenceContext;

template <typename T>
using Rows = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <typename T>
using ConstRows = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

template <typename T>
ConstRows<T> rows(const Tensor& tensor) {
  return ConstRows<T>(tensor.flat<T>().data(), tensor.dim_size(0), tensor.dim_size(1));
}

template <typename T>
Rows<T> rows(Tensor* tensor) {
  return Rows<T>(tensor->flat<T>().data(), tensor->dim_size(0), tensor->dim_size(1));
}

// OK when every tensor named is [batch, columns[k]], batch and units from `state`.
absl::Status CheckShapes(const Tensor& state, std::initializer_list<std::pair<const Tensor*, int>> tensors) {
  if (state.dims() != 2) return absl::InvalidArgumentError("an LSTM state must be [batch, units]");
  for (const auto& [tensor, gates] : tensors) {
    if (tensor->dims() != 2 || tensor->dim_size(0) != state.dim_size(0) ||
        tensor->dim_size(1) != gates * state.dim_size(1)) {
      return absl::InvalidArgumentError(absl::StrCat("expected [", state.dim_size(0), ", ",
                                                     gates * state.dim_size(1), "], received ",
                                                     tensor->shape().DebugString()));
    }
  }
  return absl::OkStatus();
}

template <typename T>
class LstmStep : public OpKernel {
 public:
  explicit LstmStep(OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(OpKernelContext* context) override {
    const Tensor& projected = context->input(0);
    const Tensor& recurrent = context->input(1);
    const Tensor& c_prev = context->input(2);
    OP_REQUIRES_OK(context, CheckShapes(c_prev, {{&projected, 4}, {&recurrent, 4}}));
    Tensor *h, *c, *gates, *tanh_c;
    OP_REQUIRES_OK(context, context->allocate_output(0, c_prev.shape(), &h));
    OP_REQUIRES_OK(context, context->allocate_output(1, c_prev.shape(), &c));
    OP_REQUIRES_OK(context, context->allocate_output(2, projected.shape(), &gates));
    OP_REQUIRES_OK(context, context->allocate_output(3, c_prev.shape(), &tanh_c));
    const int64_t n = c_prev.dim_size(1);
    auto z_in = rows<T>(projected), z_h = rows<T>(recurrent), c_in = rows<T>(c_prev);
    auto h_out = rows<T>(h), c_out = rows<T>(c), a = rows<T>(gates), tanh_out = rows<T>(tanh_c);
    for (int64_t b = 0; b < c_in.rows(); ++b) {
      a.row(b).head(3 * n) = (z_in.row(b).head(3 * n) + z_h.row(b).head(3 * n)).logistic();
      a.row(b).tail(n) = (z_in.row(b).tail(n) + z_h.row(b).tail(n)).tanh();
      c_out.row(b) = a.row(b).segment(n, n) * c_in.row(b) + a.row(b).head(n) * a.row(b).tail(n);
      tanh_out.row(b) = c_out.row(b).tanh();
      h_out.row(b) = a.row(b).segment(2 * n, n) * tanh_out.row(b);
    }
  }
};

template <typename T>
class LstmStepGrad : public OpKernel {
 public:
  explicit LstmStepGrad(OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(OpKernelContext* context) override {
    const Tensor& d_h = context->input(0);
    const Tensor& d_h_output = context->input(1);
    const Tensor& d_c = context->input(2);
    const Tensor& gates = context->input(3);
    const Tensor& tanh_c = context->input(4);
    const Tensor& c_prev = context->input(5);
    OP_REQUIRES_OK(context, CheckShapes(c_prev, {{&d_h, 1}, {&d_h_output, 1}, {&d_c, 1}, {&gates, 4},
                                                 {&tanh_c, 1}}));
    Tensor *d_z, *d_c_prev;
    OP_REQUIRES_OK(context, context->allocate_output(0, gates.shape(), &d_z));
    OP_REQUIRES_OK(context, context->allocate_output(1, c_prev.shape(), &d_c_prev));
    const int64_t n = c_prev.dim_size(1);
    auto dh_next = rows<T>(d_h), dh_out = rows<T>(d_h_output), dc_next = rows<T>(d_c);
    auto a = rows<T>(gates), tc = rows<T>(tanh_c), c_in = rows<T>(c_prev);
    auto dz = rows<T>(d_z), dc_out = rows<T>(d_c_prev);
    Eigen::Array<T, 1, Eigen::Dynamic> dh(n), dc(n);
    for (int64_t b = 0; b < c_in.rows(); ++b) {
      const auto i = a.row(b).head(n), f = a.row(b).segment(n, n), o = a.row(b).segment(2 * n, n);
      const auto g = a.row(b).tail(n);
      dh = dh_next.row(b) + dh_out.row(b);
      dc = dc_next.row(b) + dh * o * (T(1) - tc.row(b).square());
      dz.row(b).head(n) = dc * g * i * (T(1) - i);
      dz.row(b).segment(n, n) = dc * c_in.row(b) * f * (T(1) - f);
      dz.row(b).segment(2 * n, n) = dh * tc.row(b) * o * (T(1) - o);
      dz.row(b).tail(n) = dc * i * (T(1) - g.square());
      dc_out.row(b) = dc * f;
    }
  }
};

}  // namespace

REGISTER_OP("ZooLstmStep")
    .Attr("T: {float, double}")
    .Input("projected: T")
    .Input("recurrent: T")
    .Input("c_prev: T")
    .Output("h: T")
    .Output("c: T")
    .Output("gates: T")
    .Output("tanh_c: T")
    .SetShapeFn([](InferenceContext* context) {
      for (int k : {0, 1, 3}) context->set_output(k, context->input(2));
      context->set_output(2, context->input(0));
      return absl::OkStatus();
    });

REGISTER_OP("ZooLstmStepGrad")
    .Attr("T: {float, double}")
    .Input("d_h: T")
    .Input("d_h_output: T")
    .Input("d_c: T")
    .Input("gates: T")
    .Input("tanh_c: T")
    .Input("c_prev: T")
    .Output("d_z: T")
    .Output("d_c_prev: T")
    .SetShapeFn([](InferenceContext* context) {
      context->set_output(0, context->input(3));
      context->set_output(1, context->input(5));
      return absl::OkStatus();
    });

#define REGISTER_CPU(T)                                                                            \
  REGISTER_KERNEL_BUILDER(Name("ZooLstmStep").Device(::tensorflow::DEVICE_CPU).TypeConstraint<T>("T"), \
                          LstmStep<T>);                                                            \
  REGISTER_KERNEL_BUILDER(                                                                         \
      Name("ZooLstmStepGrad").Device(::tensorflow::DEVICE_CPU).TypeConstraint<T>("T"), LstmStepGrad<T>);
REGISTER_CPU(float);
REGISTER_CPU(double);
