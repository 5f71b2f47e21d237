// passes/ConstantFold.cpp — folds ops over splat constants and removes
// algebraic identities (x+0, x*1, neg(neg x), no-op reshapes and broadcasts).
// Replaced nodes are left dead for DCE.
#include <cmath>
#include <optional>

#include "passes/Passes.h"

namespace graphc {
namespace {

std::optional<double> splat(const Graph& g, ValueId v) {
  const Node& n = g.node(v);
  if (n.op != OpKind::Constant) return std::nullopt;
  return n.type.dtype == DType::F32 ? attr::value(n.attrs) : double(attrInt(n.attrs, attr::key::value));
}

// The value of an op applied to scalars, rounded as the runtime would; nullopt
// when the op is not a scalar function or the integer result is undefined.
std::optional<double> foldScalar(const Node& n, const std::vector<double>& x, DType operandType) {
  bool isInt = n.type.dtype == DType::I32;
  auto round = [&](double v) -> std::optional<double> { return isInt ? std::trunc(v) : double(float(v)); };
  switch (n.op) {
    case OpKind::Add: return round(x[0] + x[1]);
    case OpKind::Sub: return round(x[0] - x[1]);
    case OpKind::Mul: return round(x[0] * x[1]);
    case OpKind::Div:
      if (isInt && x[1] == 0) return std::nullopt;
      return round(x[0] / x[1]);
    case OpKind::Maximum: return std::isnan(x[0]) || x[0] > x[1] ? x[0] : x[1];
    case OpKind::Minimum: return std::isnan(x[0]) || x[0] < x[1] ? x[0] : x[1];
    case OpKind::Compare: {
      const std::string& p = attr::pred(n.attrs);
      bool r = p == "eq" ? x[0] == x[1] : p == "ne" ? x[0] != x[1] : p == "lt" ? x[0] < x[1]
             : p == "le" ? x[0] <= x[1] : p == "gt" ? x[0] > x[1] : x[0] >= x[1];
      return r ? 1.0 : 0.0;
    }
    case OpKind::Select: return x[0] != 0 ? x[1] : x[2];
    case OpKind::Neg: return -x[0];
    case OpKind::Exp: return round(std::exp(x[0]));
    case OpKind::Log: return round(std::log(x[0]));
    case OpKind::Tanh: return round(std::tanh(x[0]));
    case OpKind::Sigmoid: return round(1.0 / (1.0 + std::exp(-x[0])));
    case OpKind::Softplus: return round(std::max(x[0], 0.0) + std::log1p(std::exp(-std::abs(x[0]))));
    case OpKind::Relu: return x[0] > 0 ? x[0] : 0.0;
    case OpKind::Sqrt: return round(std::sqrt(x[0]));
    case OpKind::Erf: return round(std::erf(x[0]));
    case OpKind::Gelu: return round(0.5 * x[0] * (1.0 + std::erf(x[0] * M_SQRT1_2)));
    case OpKind::Convert:
      if (isInt && !(std::abs(x[0]) < 2147483647.0)) return std::nullopt;
      return operandType == DType::F32 && isInt ? std::trunc(x[0]) : round(x[0]);
    case OpKind::Constant:
    case OpKind::Input:
    case OpKind::Param:
    case OpKind::State:
    case OpKind::MatMul:
    case OpKind::PackPanels:
    case OpKind::PackedMatMul:
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
    case OpKind::ReduceMax:
    case OpKind::ArgMax:
    case OpKind::Broadcast:
    case OpKind::Reshape:
    case OpKind::Transpose:
    case OpKind::Slice:
    case OpKind::Pad:
    case OpKind::Concat:
    case OpKind::OneHot:
    case OpKind::Iota:
    case OpKind::Attention:
    case OpKind::AttentionGrad:
    case OpKind::RandomUniform:
    case OpKind::AllReduce:
    case OpKind::Gather:
    case OpKind::ScatterAdd:
    case OpKind::LogSoftmax:
    case OpKind::SoftmaxCrossEntropy:
    case OpKind::Fused: return std::nullopt;
  }
  return std::nullopt;
}

// Turns node i into a splat constant.
void makeConstant(Node& n, double value) {
  n.op = OpKind::Constant;
  n.operands.clear();
  n.attrs.clear();
  if (n.type.dtype == DType::F32) n.attrs[attr::key::value] = value;
  else n.attrs[attr::key::value] = int64_t(value);
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
      folded = foldScalar(n, values, g.type(n.operands[0]).dtype);
    } else if (n.op == OpKind::Broadcast || n.op == OpKind::Reshape || n.op == OpKind::Transpose ||
               n.op == OpKind::Slice || n.op == OpKind::ReduceMean ||
               (n.op == OpKind::ReduceMax && n.type.numElements() > 0 && g.type(n.operands[0]).numElements() > 0)) {
      folded = values[0];
    } else if (n.op == OpKind::ReduceSum) {
      double count = double(g.type(n.operands[0]).numElements()) / double(std::max<int64_t>(1, n.type.numElements()));
      folded = n.type.dtype == DType::F32 ? double(float(values[0] * count)) : values[0] * count;
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
