// graph/eval/Evaluate.cpp — the evaluator's dispatch over Op.def and its
// elementwise ops; the others are in OpKernels.h's files.
#include "graph/eval/Evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <functional>
#include <type_traits>

#include "graph/Constant.h"
#include "graph/Error.h"
#include "graph/eval/Attention.h"
#include "graph/eval/OpKernels.h"

namespace graphc {
namespace {

template <typename T>
T* data(Tensor& t);
template <>
float* data<float>(Tensor& t) { return t.f32(); }
template <>
int32_t* data<int32_t>(Tensor& t) { return t.i32(); }
template <typename T>
const T* data(const Tensor& t) { return data<T>(const_cast<Tensor&>(t)); }

template <typename T, typename Fn>
Tensor binaryMap(const TensorType& type, const Tensor& a, const Tensor& b, Fn fn) {
  Tensor out(type);
  const T* x = data<T>(a);
  const T* y = data<T>(b);
  T* o = data<T>(out);
  for (int64_t i = 0, n = out.size(); i < n; ++i) o[i] = fn(x[i], y[i]);
  return out;
}

// fn over the operands' dtype (the result's, for arithmetic).
template <typename Fn>
Tensor binaryArith(const Node& n, const Tensor& a, const Tensor& b, Fn fn) {
  if (n.type.dtype == DType::F32) return binaryMap<float>(n.type, a, b, [&](float x, float y) { return float(fn(x, y)); });
  return binaryMap<int32_t>(n.type, a, b, [&](int32_t x, int32_t y) { return int32_t(fn(x, y)); });
}

// x op y: in float as is; in i32 modulo 2^32 (through uint32_t: signed overflow is undefined in C++).
template <typename T, typename Op>
T wrapping(T x, T y, Op op) {
  if constexpr (std::is_same_v<T, int32_t>) return int32_t(op(uint32_t(x), uint32_t(y)));
  else return op(x, y);
}

template <typename Fn>
Tensor unaryF32(const Node& n, const Tensor& a, Fn fn) {
  Tensor out(n.type);
  const float* x = a.f32();
  float* o = out.f32();
  for (int64_t i = 0, e = out.size(); i < e; ++i) o[i] = float(fn(x[i]));
  return out;
}

template <typename T>
bool comparePred(const std::string& pred, T x, T y) {
  if (pred == "eq") return x == y;
  if (pred == "ne") return x != y;
  if (pred == "lt") return x < y;
  if (pred == "le") return x <= y;
  if (pred == "gt") return x > y;
  return x >= y;  // "ge"; the verifier allows nothing else
}

Tensor compareOp(const Node& n, const Tensor& a, const Tensor& b) {
  Tensor out(n.type);
  const std::string& pred = attr::pred(n.attrs);
  for (int64_t i = 0; i < out.size(); ++i)
    out.i32()[i] = a.dtype() == DType::F32 ? comparePred(pred, a.f32()[i], b.f32()[i])
                                           : comparePred(pred, a.i32()[i], b.i32()[i]);
  return out;
}

Tensor selectOp(const Node& n, const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor out(n.type);
  for (int64_t i = 0; i < out.size(); ++i) {
    const Tensor& src = cond.i32()[i] ? a : b;
    if (n.type.dtype == DType::F32) out.f32()[i] = src.f32()[i];
    else out.i32()[i] = src.i32()[i];
  }
  return out;
}

Tensor constantOp(const Node& n) {
  Tensor out(n.type);
  double v = constantValue(n);
  if (n.type.dtype == DType::F32) std::fill_n(out.f32(), out.size(), float(v));
  else std::fill_n(out.i32(), out.size(), int32_t(v));
  return out;
}

// f32 -> i32 rounds toward zero and saturates (NaN -> 0), as LLVM's fptosi.sat
// in the kernels.
int32_t saturatingI32(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 2147483647.0) return INT32_MAX;
  if (v <= -2147483648.0) return INT32_MIN;
  return int32_t(v);
}

Tensor convertOp(const Node& n, const Tensor& in) {
  Tensor out(n.type);
  for (int64_t i = 0; i < in.size(); ++i) {
    if (n.type.dtype == DType::F32) out.f32()[i] = float(in.at(i));
    else out.i32()[i] = saturatingI32(in.at(i));
  }
  return out;
}

}  // namespace

Tensor evaluateNode(const Node& n, const std::vector<const Tensor*>& in) {
  using namespace eval;
  switch (n.op) {
    case OpKind::Constant: return constantOp(n);
    case OpKind::Input:
    case OpKind::Param:
    case OpKind::State: throw Error(fmt::format("%{}: leaves are bound, not evaluated", n.name));
    // i32 arithmetic wraps, as the kernels' LLVM add/sub/mul do; x / 0 = 0, and x / -1 is -x wrapped
    // (INT32_MIN / -1 traps in hardware), as the kernels compute them.
    case OpKind::Add: return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return wrapping(x, y, std::plus<>()); });
    case OpKind::Sub: return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return wrapping(x, y, std::minus<>()); });
    case OpKind::Mul:
      return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return wrapping(x, y, std::multiplies<>()); });
    case OpKind::Div:
      if (n.type.dtype == DType::I32)
        return binaryMap<int32_t>(n.type, *in[0], *in[1], [](int32_t x, int32_t y) {
          return y == 0 ? 0 : y == -1 ? int32_t(0u - uint32_t(x)) : x / y;
        });
      return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return x / y; });
    case OpKind::Maximum:  // NaN wins, as in the kernels
      return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return (x != x || x > y) ? x : y; });
    case OpKind::Minimum:
      return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return (x != x || x < y) ? x : y; });
    case OpKind::Compare: return compareOp(n, *in[0], *in[1]);
    case OpKind::Select: return selectOp(n, *in[0], *in[1], *in[2]);
    case OpKind::Neg:
      if (n.type.dtype == DType::I32)
        return binaryMap<int32_t>(n.type, *in[0], *in[0], [](int32_t x, int32_t) { return int32_t(0u - uint32_t(x)); });
      return unaryF32(n, *in[0], [](float x) { return -x; });
#define GRAPHC_UNARY(Enum, Name, Reference) \
  case OpKind::Enum: return unaryF32(n, *in[0], [](float x) { return Reference; });
#include "graph/Unary.def"
#undef GRAPHC_UNARY
    case OpKind::Convert: return convertOp(n, *in[0]);
    case OpKind::MatMul: return matmulOp(n, *in[0], *in[1]);
    case OpKind::PackPanels: return packPanelsOp(n, *in[0]);
    case OpKind::PackedMatMul: return packedMatmulOp(n, *in[0], *in[1]);
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
    case OpKind::ReduceMax: return reduceOp(n, *in[0]);
    case OpKind::ArgMax: return argmaxOp(n, *in[0]);
    case OpKind::SumSquares: return sumSquaresOp(n, *in[0]);
    case OpKind::Broadcast: return broadcastOp(n, *in[0]);
    case OpKind::Reshape: return reshapeOp(n, *in[0]);
    case OpKind::Transpose: return transposeOp(n, *in[0]);
    case OpKind::Slice: return sliceOp(n, *in[0]);
    case OpKind::Pad: return padOp(n, *in[0]);
    case OpKind::Concat: return concatOp(n, in);
    case OpKind::Iota: return iotaOp(n);
    case OpKind::Attention: return attentionReference(n, *in[0], *in[1], *in[2]);
    case OpKind::AttentionGrad: return attentionGradReference(n, *in[0], *in[1], *in[2], *in[3], *in[4]);
    case OpKind::OneHot: return oneHotOp(n, *in[0]);
    case OpKind::RandomUniform: return randomUniformOp(n, *in[0]);
    case OpKind::AllReduce: throw Error(fmt::format("%{}: all_reduce talks to other processes; the interpreter runs it", n.name));
    case OpKind::Gather: return gatherOp(n, *in[0], *in[1]);
    case OpKind::ScatterAdd: return scatterAddOp(n, *in[0], *in[1]);
    case OpKind::LogSoftmax: return logSoftmaxOp(n, *in[0]);
    case OpKind::SoftmaxCrossEntropy: return softmaxCrossEntropyOp(n, *in[0], *in[1]);
    case OpKind::LinearCrossEntropy: return linearCrossEntropyOp(n, *in[0], *in[1], *in[2], *in[3]);
    case OpKind::LinearCrossEntropyGrad: return linearCrossEntropyGradOp(n, in);
    case OpKind::LinearCrossEntropyTrain: return linearCrossEntropyTrainOp(n, in);
    case OpKind::Fused: return evaluateBody(*n.body, in);
  }
  throw Error("unknown op");
}

Tensor evaluateBody(const Graph& body, const std::vector<const Tensor*>& operands) {
  std::vector<Tensor> values(body.size());
  std::vector<const Tensor*> ptrs(body.size(), nullptr);
  size_t inputs = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    const Node& n = body.nodes[i];
    if (n.op == OpKind::Input) {  // the body's k-th input is the kernel's k-th operand
      if (inputs >= operands.size()) throw Error(fmt::format("body input %{} has no operand", n.name));
      ptrs[i] = operands[inputs++];
      continue;
    }
    std::vector<const Tensor*> in;
    for (ValueId o : n.operands) in.push_back(ptrs[size_t(o)]);
    values[i] = evaluateNode(n, in);
    ptrs[i] = &values[i];
  }
  if (body.outputs.size() != 1) throw Error("a fused body has one output");
  return *ptrs[size_t(body.outputs[0].value)];
}

}  // namespace graphc
