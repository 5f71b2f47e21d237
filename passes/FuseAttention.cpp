// passes/FuseAttention.cpp — `fuse-attention`: softmax attention, written
// as the layer API writes it (models/TransformerLayers.cpp), becomes one
// `attention` op:
//
//   s = matmul(q, k) {transpose_b = 1}            [entries, T, T]
//   s = mul(s, broadcast(constant c))             optional: the scale
//   s = add(s, broadcast(causal mask [T, T]))     optional: select(compare(iota(1), iota(0), gt), <= -1e4, 0)
//   p = reshape(exp(log_softmax(reshape(s, [entries*T, T]))), [entries, T, T])
//   y = matmul(p, v)                              [entries, T, D]
//
// becomes slice(attention(q, k, v) {scale = c, causal = 1}) to [entries, T, D].
// It runs before autodiff, so the gradient is attention_grad's (which makes
// the scores again a key at a time) and no T x T matrix is kept for the
// backward pass. A masked score weighs e^(-1e4 and below) = 0 in f32 either
// way, so fused and unfused agree to rounding.
#include <optional>

#include "graph/Constant.h"
#include "graph/Builder.h"
#include "passes/Passes.h"

namespace graphc {
namespace {

// Scores this low have no weight after the softmax, in f32.
constexpr double kMaskedAtMost = -1e4;

// A splat constant, directly or through broadcasts.
std::optional<double> splatValue(const Graph& g, ValueId v) {
  while (g.node(v).op == OpKind::Broadcast) v = g.node(v).operands[0];
  if (g.node(v).op != OpKind::Constant || g.type(v).dtype != DType::F32) return std::nullopt;
  return constantValue(g.node(v));
}

bool isIota(const Graph& g, ValueId v, int64_t axis, int64_t t) {
  const Node& n = g.node(v);
  return n.op == OpKind::Iota && attr::axis(n.attrs) == axis && n.type.shape == Shape{t, t};
}

// select(key > query, masked, 0) over [T, T], broadcast to the scores.
bool isCausalMask(const Graph& g, ValueId v, int64_t t) {
  while (g.node(v).op == OpKind::Broadcast) v = g.node(v).operands[0];
  const Node& sel = g.node(v);
  if (sel.op != OpKind::Select || sel.type.shape != Shape{t, t}) return false;
  const Node& cmp = g.node(sel.operands[0]);
  if (cmp.op != OpKind::Compare) return false;
  const std::string pred = attr::pred(cmp.attrs);
  bool later = (pred == "gt" && isIota(g, cmp.operands[0], 1, t) && isIota(g, cmp.operands[1], 0, t)) ||
               (pred == "lt" && isIota(g, cmp.operands[0], 0, t) && isIota(g, cmp.operands[1], 1, t));
  auto masked = splatValue(g, sel.operands[1]), kept = splatValue(g, sel.operands[2]);
  return later && masked && *masked <= kMaskedAtMost && kept && *kept == 0.0;
}

struct Match {
  ValueId q, k, v;
  double scale = 1.0;
  bool causal = false;
};

// The attention whose output is the product `y`, if it is one.
std::optional<Match> matchAttention(const Graph& g, const Node& y) {
  if (y.op != OpKind::MatMul || y.type.rank() != 3 || attr::transposeA(y.attrs) || attr::transposeB(y.attrs))
    return std::nullopt;
  const int64_t entries = y.type.shape[0], t = y.type.shape[1];
  auto is = [&](ValueId v, OpKind op) { return g.node(v).op == op; };
  ValueId p = y.operands[0];
  if (!is(p, OpKind::Reshape)) return std::nullopt;
  ValueId e = g.node(p).operands[0];
  if (!is(e, OpKind::Exp)) return std::nullopt;
  ValueId ls = g.node(e).operands[0];
  if (!is(ls, OpKind::LogSoftmax) || g.type(ls).shape != Shape{entries * t, t}) return std::nullopt;
  ValueId s = g.node(ls).operands[0];
  if (!is(s, OpKind::Reshape)) return std::nullopt;
  s = g.node(s).operands[0];
  Match m;
  if (is(s, OpKind::Add)) {
    const Node& add = g.node(s);
    int masked = isCausalMask(g, add.operands[1], t) ? 1 : isCausalMask(g, add.operands[0], t) ? 0 : -1;
    if (masked < 0) return std::nullopt;
    m.causal = true;
    s = add.operands[size_t(1 - masked)];
  }
  if (is(s, OpKind::Mul)) {
    const Node& mul = g.node(s);
    auto c = splatValue(g, mul.operands[1]);
    size_t other = 0;
    if (!c) c = splatValue(g, mul.operands[0]), other = 1;
    if (!c) return std::nullopt;
    m.scale = *c;
    s = mul.operands[other];
  }
  const Node& scores = g.node(s);
  if (scores.op != OpKind::MatMul || attr::transposeA(scores.attrs) || !attr::transposeB(scores.attrs) ||
      scores.type.shape != Shape{entries, t, t})
    return std::nullopt;
  m.q = scores.operands[0];
  m.k = scores.operands[1];
  m.v = y.operands[1];
  if (g.type(m.q) != g.type(m.k) || g.type(m.v) != g.type(m.q)) return std::nullopt;  // self-attention shapes
  return m;
}

}  // namespace

bool fuseAttention(Graph& g) {
  std::vector<std::pair<ValueId, ValueId>> replaced;
  const size_t count = g.size();
  for (size_t i = 0; i < count; ++i) {
    std::optional<Match> m = matchAttention(g, g.nodes[i]);
    if (!m) continue;
    Builder b(g);
    Builder::Group layer(b, g.nodes[i].group);
    const Shape s = g.type(m->q).shape;
    Value fused = attention(b.wrap(m->q), b.wrap(m->k), b.wrap(m->v), m->scale, m->causal);
    replaced.emplace_back(ValueId(i), slice(fused, {0, 0, 0}, {s[0], s[1], s[2]}).id());
  }
  return replaceUsesAndPrune(g, replaced);
}

}  // namespace graphc
