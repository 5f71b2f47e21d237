// graph/ProductTypeRules.cpp — the type rules of the product family: matmul,
// pack_panels and packed_matmul (the layout in graph/PackedLayout.h),
// attention and the fused output layer; and the checks every rule uses.
#include <algorithm>
#include <fmt/format.h>

#include "graph/Error.h"
#include "graph/PackedLayout.h"
#include "graph/ShapeInference.h"
#include "graph/TypeRules.h"

namespace graphc::typerules {

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
    const std::string_view name = opName(op);
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
    const int64_t grads = checkedNumElements({n, k}) + checkedNumElements({k, v}) + v;
    if (op == OpKind::LinearCrossEntropyTrain) {
      if (in[4] != loss)
        fail(fmt::format("linear_cross_entropy_train needs the loss's gradient as {}, got {}", str(loss), str(in[4])));
      return {DType::F32, {n + grads}};
    }
    if (in[4] != loss || in[5] != loss)
      fail(fmt::format("linear_cross_entropy_grad needs the loss and its gradient as {}, got {} and {}", str(loss),
                       str(in[4]), str(in[5])));
    return {DType::F32, {grads}};
}

}  // namespace graphc::typerules
