// passes/Autodiff.cpp — one gradient rule per op, written with the DSL.
#include "passes/Autodiff.h"

#include <cmath>
#include <fmt/format.h>
#include <optional>

#include "graph/Builder.h"

namespace graphc {
namespace {

// Shape of a reduction's result with the reduced axes kept as size 1.
Shape keepDims(const Shape& in, const std::vector<int64_t>& axes) {
  Shape s = in;
  for (int64_t a : axes) s[size_t(a)] = 1;
  return s;
}

// Sums g (of shape `to` broadcast from `from`) back down to `from`.
Value unbroadcast(Value g, const Shape& from) {
  const Shape& to = g.shape();
  size_t off = to.size() - from.size();
  std::vector<int64_t> axes;
  for (size_t i = 0; i < to.size(); ++i)
    if (i < off || (from[i - off] == 1 && to[i] != 1)) axes.push_back(int64_t(i));
  Value summed = axes.empty() ? g : reduceSum(g, axes);
  return reshape(summed, from);
}

Value zerosLike(Value v) { return broadcastTo(v.builder().constant(0.0), v.shape()); }

// Data movement: each gradient moves gy back to where its operand's elements came from.
Value transposeGradient(const Node& n, Value gy) {
  const auto& perm = attr::perm(n.attrs);
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[size_t(perm[i])] = int64_t(i);
  return transpose(gy, inverse);
}

Value sliceGradient(const Node& n, Value x, Value gy) {
  const auto& start = attr::start(n.attrs);
  const auto& limit = attr::limit(n.attrs);
  std::vector<int64_t> high;
  for (size_t i = 0; i < start.size(); ++i) high.push_back(x.dim(int64_t(i)) - limit[i]);
  return pad(gy, start, high);
}

Value padGradient(const Node& n, Value x, Value gy) {
  const auto& low = attr::low(n.attrs);
  std::vector<int64_t> limit;
  for (size_t i = 0; i < low.size(); ++i) limit.push_back(low[i] + x.dim(int64_t(i)));
  return slice(gy, low, limit);
}

std::vector<std::optional<Value>> concatGradient(const Node& n, const std::vector<Value>& x, Value gy) {
  int64_t axis = attr::axis(n.attrs);
  if (axis < 0) axis += n.type.rank();
  int64_t offset = 0;
  std::vector<std::optional<Value>> gx;
  for (const Value& part : x) {
    std::vector<int64_t> start(size_t(n.type.rank()), 0);
    std::vector<int64_t> limit = n.type.shape;
    start[size_t(axis)] = offset;
    limit[size_t(axis)] = offset + part.dim(axis);
    offset = limit[size_t(axis)];
    gx.push_back(slice(gy, start, limit));
  }
  return gx;
}

// Sums and means spread gy back over the reduced axes; a max sends it to the
// elements equal to the maximum.
Value reductionGradient(const Node& n, Value x, Value y, Value gy) {
  Shape kept = keepDims(x.shape(), attr::axes(n.attrs));
  Value spread = broadcastTo(reshape(gy, kept), x.shape());
  if (n.op == OpKind::ReduceMax)
    return select(compare(x, broadcastTo(reshape(y, kept), x.shape()), "eq"), spread, zerosLike(x));
  if (n.op == OpKind::ReduceSum) return spread;
  double count = double(x.type().numElements()) / double(std::max<int64_t>(1, n.type.numElements()));
  return spread * (1.0 / count);
}

// y = x - logsumexp(x) over the last axis: gx = gy - softmax(x) * sum(gy).
Value logSoftmaxGradient(Value y, Value gy) {
  Shape kept = y.shape();
  kept.back() = 1;
  Value sum = broadcastTo(reshape(reduceSum(gy, {y.type().rank() - 1}), kept), y.shape());
  return gy - exp(y) * sum;
}

// The contributions of node `n` (value y, adjoint gy) to its operands' adjoints.
// Entries stay empty for operands that get no gradient (integers, indices).
std::vector<std::optional<Value>> gradientRule(Builder& b, const Node& n, Value y, Value gy) {
  std::vector<Value> x;
  for (ValueId o : n.operands) x.push_back(b.wrap(o));
  std::vector<std::optional<Value>> gx(x.size());
  switch (n.op) {
    case OpKind::Constant:
    case OpKind::Input:
    case OpKind::Param:
    case OpKind::State:
    case OpKind::Compare:
    case OpKind::ArgMax:
    case OpKind::OneHot:
    case OpKind::Iota:
    case OpKind::RandomUniform:
      break;  // leaves, and ops whose result is piecewise constant or integer
    case OpKind::Add: gx = {gy, gy}; break;
    // y = sum over processes of x: each process's x reaches every process's loss.
    case OpKind::AllReduce: gx = {allReduce(gy)}; break;
    case OpKind::Sub: gx = {gy, -gy}; break;
    case OpKind::Mul: gx = {gy * x[1], gy * x[0]}; break;
    case OpKind::Div: gx = {gy / x[1], -(gy * y) / x[1]}; break;
    case OpKind::Maximum:
    case OpKind::Minimum: {
      Value first = compare(x[0], x[1], n.op == OpKind::Maximum ? "ge" : "le");
      Value zero = zerosLike(gy);
      gx = {select(first, gy, zero), select(first, zero, gy)};
      break;
    }
    case OpKind::Select: {
      Value zero = zerosLike(gy);
      gx = {std::nullopt, select(x[0], gy, zero), select(x[0], zero, gy)};
      break;
    }
    case OpKind::Neg: gx = {-gy}; break;
    case OpKind::Exp: gx = {gy * y}; break;
    case OpKind::Log: gx = {gy / x[0]}; break;
    case OpKind::Tanh: gx = {gy * (1.0 - y * y)}; break;
    case OpKind::Sigmoid: gx = {gy * (y * (1.0 - y))}; break;
    case OpKind::Softplus: gx = {gy * sigmoid(x[0])}; break;
    case OpKind::Erf: gx = {gy * (1.1283791670955126 * exp(-(x[0] * x[0])))}; break;  // 2/sqrt(pi) e^(-x^2)
    case OpKind::Gelu:  // (1 + erf(x / sqrt 2)) / 2 + x e^(-x^2 / 2) / sqrt(2 pi): from x alone
      gx = {gy * ((1.0 + erf(x[0] * M_SQRT1_2)) * 0.5 + x[0] * exp(x[0] * x[0] * -0.5) * 0.3989422804014327)};
      break;
    case OpKind::Relu: gx = {select(compare(x[0], zerosLike(x[0]), "gt"), gy, zerosLike(gy))}; break;
    case OpKind::Sqrt: gx = {gy * 0.5 / y}; break;
    case OpKind::Convert:
      if (x[0].type().dtype == DType::F32 && n.type.dtype == DType::F32) gx = {gy};
      break;
    case OpKind::MatMul: {
      // C = op(A) op(B); each case keeps the products free of explicit transposes.
      bool ta = attr::transposeA(n.attrs), tb = attr::transposeB(n.attrs);
      Value ga = ta ? matmul(x[1], gy, tb, true) : matmul(gy, x[1], false, !tb);
      Value gb = tb ? matmul(gy, x[0], true, ta) : matmul(x[0], gy, !ta, false);
      gx = {ga, gb};
      break;
    }
    case OpKind::Attention: {
      const Shape s = x[0].shape();
      Value g = b.op(OpKind::AttentionGrad, {x[0], x[1], x[2], y, gy}, n.attrs);
      for (int64_t k = 0; k < 3; ++k)
        gx[size_t(k)] = reshape(slice(g, {k, 0, 0, 0}, {k + 1, s[0], s[1], s[2]}), s);
      break;
    }
    case OpKind::AttentionGrad:
      throw Error(fmt::format("autodiff: %{} is attention's gradient, which has none of its own", n.name));
    case OpKind::LinearCrossEntropy: {
      LinearCrossEntropyGrads d = linearCrossEntropyGrad({x[0], x[1], x[2], x[3], y, gy}, n.attrs);
      gx = {d.dx, d.dw, d.db, std::nullopt};
      break;
    }
    case OpKind::LinearCrossEntropyGrad:
    case OpKind::LinearCrossEntropyTrain:
      throw Error(fmt::format("autodiff: %{} is a gradient, which has none of its own", n.name));
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
    case OpKind::ReduceMax: gx = {reductionGradient(n, x[0], y, gy)}; break;
    case OpKind::SumSquares: gx = {broadcastTo(gy, x[0].shape()) * x[0] * 2.0}; break;
    case OpKind::Broadcast: gx = {unbroadcast(gy, x[0].shape())}; break;
    case OpKind::Reshape: gx = {reshape(gy, x[0].shape())}; break;
    case OpKind::Transpose: gx = {transposeGradient(n, gy)}; break;
    case OpKind::Slice: gx = {sliceGradient(n, x[0], gy)}; break;
    case OpKind::Pad: gx = {padGradient(n, x[0], gy)}; break;
    case OpKind::Concat: gx = concatGradient(n, x, gy); break;
    case OpKind::Gather:
      gx = {scatterAdd(gy, x[1], x[0].dim(0), attr::zeroOutOfRange(n.attrs)), std::nullopt};
      break;
    case OpKind::ScatterAdd: gx = {gather(gy, x[1], attr::zeroOutOfRange(n.attrs)), std::nullopt}; break;
    case OpKind::LogSoftmax: gx = {logSoftmaxGradient(y, gy)}; break;
    case OpKind::Fused:
      throw Error(fmt::format("autodiff: %{} is a fused kernel; differentiate before fusion", n.name));
    case OpKind::PackPanels:
    case OpKind::PackedMatMul:
      throw Error(fmt::format("autodiff: %{} is a lowered product; differentiate before pack-weights", n.name));
    case OpKind::SoftmaxCrossEntropy: {
      // d/dlogits = softmax(logits) - onehot(labels), scaled per row.
      int64_t rows = x[0].dim(0), width = x[0].dim(1);
      Value probs = exp(logSoftmax(x[0]));
      Value scale = broadcastTo(reshape(gy, {rows, 1}), {rows, width});
      gx = {(probs - oneHot(x[1], width)) * scale, std::nullopt};
      break;
    }
  }
  return gx;
}

}  // namespace

std::vector<ValueId> appendGradients(Graph& g, ValueId loss, const std::vector<ValueId>& wrt) {
  if (g.type(loss) != TensorType{DType::F32, {}})
    throw Error(fmt::format("autodiff: the loss %{} must be f32[], got {}", g.node(loss).name, str(g.type(loss))));
  for (ValueId w : wrt)
    if (g.type(w).dtype != DType::F32)
      throw Error(fmt::format("autodiff: cannot differentiate with respect to the integer value %{}", g.node(w).name));
  const size_t forwardSize = g.size();

  // Only nodes on a path from some wrt value to the loss need adjoints.
  std::vector<bool> dependsOnWrt(forwardSize, false);
  for (ValueId w : wrt) dependsOnWrt[size_t(w)] = true;
  for (size_t i = 0; i < forwardSize; ++i)
    for (ValueId o : g.nodes[i].operands)
      if (dependsOnWrt[size_t(o)]) dependsOnWrt[i] = true;

  Builder b(g);
  std::vector<std::optional<Value>> adjoint(forwardSize);
  adjoint[size_t(loss)] = b.constant(1.0);
  for (size_t i = size_t(loss) + 1; i-- > 0;) {
    if (!adjoint[i] || !dependsOnWrt[i]) continue;
    Node n = g.nodes[i];  // copy: the builder appends to g.nodes
    Builder::Group group(b, n.group);  // a gradient is drawn in its forward node's layer
    auto contributions = gradientRule(b, n, b.wrap(ValueId(i)), *adjoint[i]);
    for (size_t k = 0; k < n.operands.size(); ++k) {
      size_t o = size_t(n.operands[k]);
      if (!contributions[k] || !dependsOnWrt[o]) continue;
      adjoint[o] = adjoint[o] ? *adjoint[o] + *contributions[k] : *contributions[k];
    }
  }
  std::vector<ValueId> grads;
  for (ValueId w : wrt) {
    Value gw = adjoint[size_t(w)] ? *adjoint[size_t(w)] : zerosLike(b.wrap(w));
    grads.push_back(gw.id());
  }
  return grads;
}

bool differentiateLoss(Graph& g) {
  std::vector<ValueId> params = g.nodesOf(OpKind::Param);
  std::vector<ValueId> grads = appendGradients(g, g.output("loss"), params);
  for (size_t i = 0; i < params.size(); ++i) g.setOutput("grad." + g.node(params[i]).name, grads[i]);
  return true;
}

}  // namespace graphc
