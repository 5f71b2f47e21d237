// passes/Fold.cpp — folds ops over splat constants and removes
// algebraic identities (x+0, x*1, neg(neg x), no-op reshapes and broadcasts).
// Elementwise ops fold through the reference evaluator (graph/eval), so a
// folded constant has the bits the interpreter computes. Replaced nodes are
// left dead for DCE.
#include <cmath>
#include <optional>

#include "graph/Constant.h"
#include "graph/eval/Evaluate.h"
#include "passes/Passes.h"

namespace graphc {
namespace {

std::optional<double> splat(const Graph& g, ValueId v) {
  const Node& n = g.node(v);
  if (n.op != OpKind::Constant) return std::nullopt;
  return constantValue(n);
}

// Elementwise node n over splat constants, by the reference evaluator at one
// element of each: folding and the interpreter are one function, to the bit.
double evaluateAtSplats(const Graph& g, const Node& n) {
  auto oneElement = [](Node node) {
    node.type.shape = {};
    return node;
  };
  std::vector<Tensor> operands;
  for (ValueId o : n.operands) operands.push_back(evaluateNode(oneElement(g.node(o)), {}));
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : operands) ptrs.push_back(&t);
  return evaluateNode(oneElement(n), ptrs).at(0);
}

// Turns node n into a splat constant.
void makeConstant(Node& n, double value) {
  n.op = OpKind::Constant;
  n.operands.clear();
  n.attrs.clear();
  setConstantValue(n, value);
}

// The operand that node n is an identity of, or -1.
ValueId identityOperand(const Graph& g, const Node& n) {
  auto isSplat = [&](ValueId v, double c) {
    auto s = splat(g, v);
    return s && *s == c;
  };
  switch (n.op) {
    case OpKind::Add:
      if (isSplat(n.operands[1], 0.0)) return n.operands[0];
      if (isSplat(n.operands[0], 0.0)) return n.operands[1];
      return -1;
    case OpKind::Sub: return isSplat(n.operands[1], 0.0) ? n.operands[0] : -1;
    case OpKind::Mul:
      if (isSplat(n.operands[1], 1.0)) return n.operands[0];
      if (isSplat(n.operands[0], 1.0)) return n.operands[1];
      return -1;
    case OpKind::Div: return isSplat(n.operands[1], 1.0) ? n.operands[0] : -1;
    case OpKind::Neg: {
      const Node& inner = g.node(n.operands[0]);
      return inner.op == OpKind::Neg ? inner.operands[0] : -1;
    }
    default:  // only the ops above have identities worth removing
      break;
  }
  if ((n.op == OpKind::Reshape || n.op == OpKind::Broadcast || n.op == OpKind::Transpose) &&
      g.type(n.operands[0]) == n.type) {
    if (n.op != OpKind::Transpose) return n.operands[0];
    const auto& perm = attr::perm(n.attrs);
    for (size_t i = 0; i < perm.size(); ++i)
      if (perm[i] != int64_t(i)) return -1;
    return n.operands[0];
  }
  return -1;
}

}  // namespace

bool foldConstants(Graph& g) {
  bool changed = false;
  // Uses of a removed identity are redirected as the walk reaches them (one
  // pass over the graph, not one per identity).
  std::vector<ValueId> replacement(g.size());
  for (size_t i = 0; i < g.size(); ++i) {
    replacement[i] = ValueId(i);
    Node& n = g.nodes[i];
    for (ValueId& o : n.operands) o = replacement[size_t(o)];
    if (n.op == OpKind::Constant || !hasTrait(n.op, kPure)) continue;
    if (ValueId id = identityOperand(g, n); id >= 0) {
      replacement[i] = id;
      changed = true;
      continue;
    }
    // reshape(reshape(x)) -> reshape(x)
    if (n.op == OpKind::Reshape && g.node(n.operands[0]).op == OpKind::Reshape) {
      n.operands[0] = g.node(n.operands[0]).operands[0];
      changed = true;
    }
    std::vector<double> values;
    for (ValueId o : n.operands) {
      auto s = splat(g, o);
      if (!s) break;
      values.push_back(*s);
    }
    if (values.size() != n.operands.size() || values.empty()) continue;
    std::optional<double> folded;
    if (hasTrait(n.op, kElementwise)) {
      folded = evaluateAtSplats(g, n);
    } else if (n.op == OpKind::Broadcast || n.op == OpKind::Reshape || n.op == OpKind::Transpose ||
               n.op == OpKind::Slice ||
               ((n.op == OpKind::ReduceMax || n.op == OpKind::ReduceMean) && n.type.numElements() > 0 &&
                g.type(n.operands[0]).numElements() > 0)) {
      folded = values[0];
    } else if (n.op == OpKind::ReduceSum) {
      // The evaluator's double sum of `count` equal terms is this product, exactly.
      double count = double(g.type(n.operands[0]).numElements()) / double(std::max<int64_t>(1, n.type.numElements()));
      double sum = values[0] * count;
      if (n.type.dtype == DType::F32 || std::abs(sum) < 2147483648.0) folded = sum;
    }
    if (folded) {
      makeConstant(n, *folded);
      changed = true;
    }
  }
  for (auto& o : g.outputs) o.value = replacement[size_t(o.value)];
  for (auto& u : g.updates) u.value = replacement[size_t(u.value)];
  return changed;
}

}  // namespace graphc
