// graph/ShapeInference.cpp — type rules, one case per op.
#include "graph/ShapeInference.h"

#include <algorithm>
#include <cstdint>
#include <fmt/format.h>

#include "graph/Error.h"
#include "graph/TypeRules.h"

namespace graphc {
namespace {

using namespace typerules;


std::vector<bool> axisMask(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<bool> mask(size_t(rank), false);
  for (int64_t a : axes) {
    if (a < 0 || a >= rank) fail(fmt::format("axis {} out of range for rank {}", a, rank));
    if (mask[size_t(a)]) fail(fmt::format("axis {} listed twice", a));
    mask[size_t(a)] = true;
  }
  return mask;
}

bool isKnownInit(const std::string& s) {
  for (const char* k : {"zeros", "ones", "normal", "uniform", "truncated_normal", "lecun_normal", "orthogonal"})
    if (s == k) return true;
  return false;
}

TensorType paramType(const Attrs& attrs, const TensorType& declared) {
    checkedNumElements(declared.shape);
    requireF32(declared, "a param");
    std::string init = attr::init(attrs, "zeros");
    if (!isKnownInit(init)) fail(fmt::format("unknown initializer \"{}\"", init));
    if ((init == "orthogonal" || init == "lecun_normal") && declared.rank() != 2)
      fail(fmt::format("initializer \"{}\" needs a 2-d param", init));
    return declared;
}

TensorType compareType(const std::vector<TensorType>& in, const Attrs& attrs) {
    requireSame(in[0], in[1]);
    std::string pred = attr::pred(attrs);
    if (pred != "eq" && pred != "ne" && pred != "lt" && pred != "le" && pred != "gt" && pred != "ge")
      fail(fmt::format("unknown compare predicate \"{}\" (eq, ne, lt, le, gt, ge)", pred));
    return {DType::I32, in[0].shape};
}

TensorType convertType(const std::vector<TensorType>& in, const Attrs& attrs) {
    std::string to = attr::dtype(attrs);
    if (to == "f32") return {DType::F32, in[0].shape};
    if (to == "i32") return {DType::I32, in[0].shape};
    fail(fmt::format("unknown dtype \"{}\" (f32, i32)", to));
}

TensorType reduceSumType(OpKind op, const std::vector<TensorType>& in, const Attrs& attrs) {
    if (op == OpKind::ReduceMean) requireF32(in[0], "the operand");
    auto mask = axisMask(attr::axes(attrs), in[0].rank());
    Shape out;
    for (int64_t i = 0; i < in[0].rank(); ++i)
      if (!mask[size_t(i)]) out.push_back(in[0].shape[size_t(i)]);
    return {in[0].dtype, out};
}

TensorType argMaxType(const std::vector<TensorType>& in, const Attrs& attrs) {
    int64_t axis = normalizeAxis(attr::axis(attrs), in[0].rank());
    if (in[0].shape[size_t(axis)] == 0) fail("argmax over an empty axis");
    Shape out = in[0].shape;
    out.erase(out.begin() + axis);
    return {DType::I32, out};
}

TensorType broadcastType(const std::vector<TensorType>& in, const Attrs& attrs) {
    const Shape& to = attr::shape(attrs);
    checkedNumElements(to);
    const Shape& from = in[0].shape;
    if (from.size() > to.size())
      fail(fmt::format("cannot broadcast {} to the lower rank {}", str(from), str(to)));
    size_t off = to.size() - from.size();
    for (size_t i = 0; i < from.size(); ++i)
      if (from[i] != 1 && from[i] != to[off + i])
        fail(fmt::format("cannot broadcast {} to {}: dimension {} is {}", str(from), str(to), i, from[i]));
    return {in[0].dtype, to};
}

TensorType reshapeType(const std::vector<TensorType>& in, const Attrs& attrs) {
    const Shape& to = attr::shape(attrs);
    if (checkedNumElements(to) != in[0].numElements())
      fail(fmt::format("cannot reshape {} to {}: element counts differ", str(in[0].shape), str(to)));
    return {in[0].dtype, to};
}

TensorType transposeType(const std::vector<TensorType>& in, const Attrs& attrs) {
    const auto& perm = attr::perm(attrs);
    if (int64_t(perm.size()) != in[0].rank())
      fail(fmt::format("transpose perm has {} entries for rank {}", perm.size(), in[0].rank()));
    axisMask(perm, in[0].rank());  // a permutation: in range, no repeats
    Shape out;
    for (int64_t p : perm) out.push_back(in[0].shape[size_t(p)]);
    return {in[0].dtype, out};
}

TensorType sliceType(const std::vector<TensorType>& in, const Attrs& attrs) {
    const auto& start = attr::start(attrs);
    const auto& limit = attr::limit(attrs);
    if (int64_t(start.size()) != in[0].rank() || int64_t(limit.size()) != in[0].rank())
      fail(fmt::format("slice start/limit need {} entries", in[0].rank()));
    Shape out;
    for (size_t i = 0; i < start.size(); ++i) {
      if (start[i] < 0 || start[i] > limit[i] || limit[i] > in[0].shape[i])
        fail(fmt::format("slice [{}, {}) out of range for dimension {} of size {}", start[i], limit[i], i,
                         in[0].shape[i]));
      out.push_back(limit[i] - start[i]);
    }
    return {in[0].dtype, out};
}

TensorType padType(const std::vector<TensorType>& in, const Attrs& attrs) {
    const auto& low = attr::low(attrs);
    const auto& high = attr::high(attrs);
    if (int64_t(low.size()) != in[0].rank() || int64_t(high.size()) != in[0].rank())
      fail(fmt::format("pad low/high need {} entries", in[0].rank()));
    Shape out;
    for (size_t i = 0; i < low.size(); ++i) {
      if (low[i] < 0 || high[i] < 0 || low[i] > kMaxElements || high[i] > kMaxElements)
        fail(fmt::format("pad amounts must be non-negative and small, got {} and {}", low[i], high[i]));
      out.push_back(in[0].shape[i] + low[i] + high[i]);
    }
    checkedNumElements(out);
    return {in[0].dtype, out};
}

TensorType concatType(const std::vector<TensorType>& in, const Attrs& attrs) {
    int64_t axis = normalizeAxis(attr::axis(attrs), in[0].rank());
    Shape out = in[0].shape;
    for (size_t i = 1; i < in.size(); ++i) {
      if (in[i].dtype != in[0].dtype || in[i].rank() != in[0].rank())
        fail(fmt::format("concat operand {} is {}, expected {} of rank {}", i, str(in[i]),
                         dtypeName(in[0].dtype), in[0].rank()));
      for (int64_t d = 0; d < in[0].rank(); ++d)
        if (d != axis && in[i].shape[size_t(d)] != in[0].shape[size_t(d)])
          fail(fmt::format("concat operand {} has shape {}, incompatible with {} on axis {}", i,
                           str(in[i].shape), str(in[0].shape), d));
      out[size_t(axis)] += in[i].shape[size_t(axis)];
    }
    checkedNumElements(out);
    return {in[0].dtype, out};
}

TensorType randomUniformType(const std::vector<TensorType>& in, const Attrs& attrs) {
    requireI32(in[0], "the random_uniform key");
    if (in[0].shape != Shape{3}) fail(fmt::format("the random_uniform key must be i32[3], got {}", str(in[0])));
    if (attr::stream(attrs) < 0) fail("the random_uniform stream must not be negative");
    Shape out = attr::shape(attrs);
    if (out.empty()) fail("random_uniform needs a shape with at least one axis");
    for (int64_t d : out)
      if (d < 0) fail("random_uniform's shape has a negative extent");
    checkedNumElements(out);
    return {DType::F32, out};
}

TensorType iotaType(const std::vector<TensorType>& in, const Attrs& attrs) {
    Shape out = attr::shape(attrs);
    int64_t axis = normalizeAxis(attr::axis(attrs), int64_t(out.size()));
    for (int64_t d : out)
      if (d < 0) fail("iota's shape has a negative extent");
    if (out[size_t(axis)] > INT32_MAX) fail("iota counts past the i32 range");
    checkedNumElements(out);
    return {DType::I32, out};
}

TensorType oneHotType(const std::vector<TensorType>& in, const Attrs& attrs) {
    requireI32(in[0], "one_hot indices");
    int64_t depth = attr::depth(attrs);
    if (depth <= 0) fail(fmt::format("one_hot depth must be positive, got {}", depth));
    Shape out = in[0].shape;
    out.push_back(depth);
    checkedNumElements(out);
    return {DType::F32, out};
}

TensorType gatherType(const std::vector<TensorType>& in, const Attrs& attrs) {
    requireF32(in[0], "the gather table");
    requireI32(in[1], "gather indices");
    if (in[0].rank() != 2) fail(fmt::format("gather table must be 2-d, got {}", str(in[0])));
    Shape out = in[1].shape;
    out.push_back(in[0].shape[1]);
    return {DType::F32, out};
}

TensorType scatterAddType(const std::vector<TensorType>& in, const Attrs& attrs) {
    requireF32(in[0], "scatter_add updates");
    requireI32(in[1], "scatter_add indices");
    int64_t rows = attr::rows(attrs);
    if (rows <= 0) fail(fmt::format("scatter_add rows must be positive, got {}", rows));
    Shape expect = in[1].shape;
    if (in[0].rank() != in[1].rank() + 1 || !std::equal(expect.begin(), expect.end(), in[0].shape.begin()))
      fail(fmt::format("scatter_add updates {} do not match indices {} plus a row dimension", str(in[0]),
                       str(in[1])));
    Shape out = {rows, in[0].shape.back()};
    checkedNumElements(out);
    return {DType::F32, out};
}

}  // namespace

int64_t checkedNumElements(const Shape& s) {
  if (s.size() > 8) fail(fmt::format("rank {} is above the supported 8", s.size()));
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) fail(fmt::format("negative dimension {} in {}", d, str(s)));
    if (d > 0 && n > kMaxElements / d) fail(fmt::format("shape {} has more than 2^34 elements", str(s)));
    n *= d;
  }
  return n;
}

TensorType inferType(OpKind op, const std::vector<TensorType>& in, const Attrs& attrs, const TensorType& declared) {
  for (const auto& t : in) checkedNumElements(t.shape);
  switch (op) {
    case OpKind::Constant:
      checkedNumElements(declared.shape);
      if (declared.dtype == DType::F32) {
        attrFloat(attrs, attr::key::value);
      } else if (int64_t v = attrInt(attrs, attr::key::value); v < INT32_MIN || v > INT32_MAX) {
        fail(fmt::format("i32 constant value {} is out of range", v));
      }
      return declared;
    case OpKind::Input:
    case OpKind::State:
    case OpKind::Fused:  // the verifier checks the body against the declared type
      checkedNumElements(declared.shape);
      return declared;
    case OpKind::Param: return paramType(attrs, declared);
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::Div:
    case OpKind::Maximum:
    case OpKind::Minimum:
      requireSame(in[0], in[1]);
      return in[0];
    case OpKind::Compare: return compareType(in, attrs);
    case OpKind::Select:
      requireI32(in[0], "the select condition");
      requireSame(in[1], in[2]);
      if (in[0].shape != in[1].shape)
        fail(fmt::format("select condition shape {} differs from {}", str(in[0].shape), str(in[1].shape)));
      return in[1];
    case OpKind::Neg:
      return in[0];
#define GRAPHC_UNARY(Enum, Name, Reference) case OpKind::Enum:
#include "graph/Unary.def"
#undef GRAPHC_UNARY
      requireF32(in[0], "the operand");
      return in[0];
    case OpKind::Convert: return convertType(in, attrs);
    case OpKind::MatMul: return matMulType(in, attrs);
    case OpKind::PackPanels: return packPanelsType(in, attrs);
    case OpKind::PackedMatMul: return packedMatMulType(in, attrs);
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
    case OpKind::ReduceMax: return reduceSumType(op, in, attrs);
    case OpKind::ArgMax: return argMaxType(in, attrs);
    case OpKind::SumSquares:
      requireF32(in[0], "the operand");
      return {DType::F32, {}};
    case OpKind::Broadcast: return broadcastType(in, attrs);
    case OpKind::Reshape: return reshapeType(in, attrs);
    case OpKind::Transpose: return transposeType(in, attrs);
    case OpKind::Slice: return sliceType(in, attrs);
    case OpKind::Pad: return padType(in, attrs);
    case OpKind::Concat: return concatType(in, attrs);
    case OpKind::AllReduce:
      requireF32(in[0], "all_reduce's operand");
      return in[0];
    case OpKind::RandomUniform: return randomUniformType(in, attrs);
    case OpKind::Iota: return iotaType(in, attrs);
    case OpKind::Attention:
    case OpKind::AttentionGrad: return attentionType(op, in, attrs);
    case OpKind::LinearCrossEntropy:
    case OpKind::LinearCrossEntropyGrad:
    case OpKind::LinearCrossEntropyTrain: return linearCrossEntropyType(op, in, attrs);
    case OpKind::OneHot: return oneHotType(in, attrs);
    case OpKind::Gather: return gatherType(in, attrs);
    case OpKind::ScatterAdd: return scatterAddType(in, attrs);
    case OpKind::LogSoftmax:
      requireF32(in[0], "the operand");
      if (in[0].rank() < 1) fail("log_softmax needs rank >= 1");
      return in[0];
    case OpKind::SoftmaxCrossEntropy:
      requireF32(in[0], "the logits");
      requireI32(in[1], "the labels");
      if (in[0].rank() != 2 || in[1].rank() != 1 || in[0].shape[0] != in[1].shape[0])
        fail(fmt::format("softmax_cross_entropy needs logits [N,V] and labels [N], got {} and {}", str(in[0]),
                         str(in[1])));
      return {DType::F32, {in[0].shape[0]}};
  }
  fail("unknown op");
}

}  // namespace graphc
