// graph/ShapeInference.cpp — type rules, one case per op.
#include "graph/ShapeInference.h"

#include "graph/PackedLayout.h"

#include <algorithm>
#include <cstdint>
#include <fmt/format.h>

#include "graph/Error.h"

namespace graphc {
namespace {

[[noreturn]] void fail(const std::string& msg) { throw Error(msg); }

void requireF32(const TensorType& t, const char* what) {
  if (t.dtype != DType::F32) fail(fmt::format("{} must be f32, got {}", what, str(t)));
}
void requireI32(const TensorType& t, const char* what) {
  if (t.dtype != DType::I32) fail(fmt::format("{} must be i32, got {}", what, str(t)));
}
void requireSame(const TensorType& a, const TensorType& b) {
  if (a != b) fail(fmt::format("operand types differ: {} vs {} (insert a broadcast)", str(a), str(b)));
}

int64_t normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) fail(fmt::format("axis {} out of range for rank {}", axis, rank));
  return axis;
}

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

TensorType matMulType(const std::vector<TensorType>& in, const Attrs& attrs) {
    // A batched product: equal leading dimensions, one 2-d product each.
    requireF32(in[0], "matmul lhs");
    requireF32(in[1], "matmul rhs");
    const int64_t rank = in[0].rank();
    if (rank < 2 || in[1].rank() != rank)
      fail(fmt::format("matmul needs operands of one rank >= 2, got {} and {}", str(in[0]), str(in[1])));
    const Shape batch(in[0].shape.begin(), in[0].shape.end() - 2);
    if (!std::equal(batch.begin(), batch.end(), in[1].shape.begin()))
      fail(fmt::format("matmul batch dimensions differ: {} vs {}", str(in[0]), str(in[1])));
    bool ta = attr::transposeA(attrs), tb = attr::transposeB(attrs);
    const size_t r = size_t(rank);
    int64_t m = in[0].shape[r - (ta ? 1 : 2)], k = in[0].shape[r - (ta ? 2 : 1)];
    int64_t k2 = in[1].shape[r - (tb ? 1 : 2)], n = in[1].shape[r - (tb ? 2 : 1)];
    if (k != k2)
      fail(fmt::format("matmul contraction mismatch: {} vs {} (transpose_a={}, transpose_b={})", str(in[0]),
                       str(in[1]), int(ta), int(tb)));
    Shape out = batch;
    out.push_back(m);
    out.push_back(n);
    return {DType::F32, out};
}

TensorType packPanelsType(const std::vector<TensorType>& in, const Attrs& attrs) {
    requireF32(in[0], "pack_panels operand");
    if (in[0].rank() != 2) fail(fmt::format("pack_panels needs a 2-d operand, got {}", str(in[0])));
    bool t = attr::transpose(attrs);
    int64_t k = in[0].shape[t ? 1 : 0], n = in[0].shape[t ? 0 : 1];
    int64_t width = attrInt(attrs, "panel_width", 0);
    if (width < 1 || width > kMaxPanelWidth)
      fail(fmt::format("pack_panels needs a panel_width attribute in 1..{} (the target chooses it), got {}",
                       kMaxPanelWidth, width));
    return {DType::F32, {panelCount(n, width), k, width}};
}

TensorType packedMatMulType(const std::vector<TensorType>& in, const Attrs& attrs) {
    requireF32(in[0], "packed_matmul lhs");
    requireF32(in[1], "packed_matmul rhs");
    if (in[0].rank() != 2 || in[1].rank() != 3 || in[1].shape[2] < 1 || in[1].shape[2] > kMaxPanelWidth)
      fail(fmt::format("packed_matmul needs a 2-d lhs and a [panels, k, width <= {}] rhs, got {} and {}",
                       kMaxPanelWidth, str(in[0]), str(in[1])));
    bool ta = attr::transposeA(attrs);
    int64_t m = in[0].shape[ta ? 1 : 0], k = in[0].shape[ta ? 0 : 1], n = attr::n(attrs);
    int64_t width = in[1].shape[2];
    if (n <= 0 || panelCount(n, width) != in[1].shape[0])
      fail(fmt::format("packed_matmul: n = {} does not fit {} panels of {}", n, in[1].shape[0], width));
    if (k != in[1].shape[1])
      fail(fmt::format("packed_matmul contraction mismatch: {} vs {} (transpose_a={})", str(in[0]), str(in[1]),
                       int(ta)));
    return {DType::F32, {m, n}};
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

TensorType attentionType(OpKind op, const std::vector<TensorType>& in, const Attrs& attrs) {
    for (size_t i = 0; i < 3; ++i) requireF32(in[i], "attention's q, k and v");
    if (in[0].rank() != 3 || in[1] != in[0] || in[2] != in[0])
      fail(fmt::format("attention needs q, k and v of one shape [entries, T, D], got {}, {} and {}", str(in[0]),
                       str(in[1]), str(in[2])));
    const Shape& s = in[0].shape;
    TensorType result{DType::F32, {s[0], s[1], s[2] + 1}};
    if (op == OpKind::Attention) return result;
    if (in[3] != result || in[4] != result)
      fail(fmt::format("attention_grad needs the attention's result and its gradient as {}, got {} and {}",
                       str(result), str(in[3]), str(in[4])));
    return {DType::F32, {3, s[0], s[1], s[2]}};
}

TensorType linearCrossEntropyType(OpKind op, const std::vector<TensorType>& in, const Attrs& attrs) {
    const char* name = op == OpKind::LinearCrossEntropy ? "linear_cross_entropy" : "linear_cross_entropy_grad";
    for (size_t i : {0, 1, 2}) requireF32(in[i], "x, w and b");
    requireI32(in[3], "the labels");
    const bool tw = attr::transposeB(attrs);
    if (in[0].rank() != 2 || in[1].rank() != 2 || in[2].rank() != 1 || in[3].rank() != 1)
      fail(fmt::format("{} needs x [N,K], w [{}], b [V] and labels [N], got {}, {}, {} and {}", name,
                       tw ? "V,K" : "K,V", str(in[0]), str(in[1]), str(in[2]), str(in[3])));
    const int64_t n = in[0].shape[0], k = in[0].shape[1];
    const int64_t wk = in[1].shape[tw ? 1 : 0], v = in[1].shape[tw ? 0 : 1];
    if (wk != k || in[2].shape[0] != v || in[3].shape[0] != n)
      fail(fmt::format("{} needs x [N,K], w [{}], b [V] and labels [N], got {}, {}, {} and {}", name,
                       tw ? "V,K" : "K,V", str(in[0]), str(in[1]), str(in[2]), str(in[3])));
    TensorType loss{DType::F32, {n}};
    if (op == OpKind::LinearCrossEntropy) return loss;
    if (in[4] != loss || in[5] != loss)
      fail(fmt::format("linear_cross_entropy_grad needs the loss and its gradient as {}, got {} and {}", str(loss),
                       str(in[4]), str(in[5])));
    return {DType::F32, {checkedNumElements({n, k}) + checkedNumElements({k, v}) + v}};
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
    case OpKind::LinearCrossEntropyGrad: return linearCrossEntropyType(op, in, attrs);
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
