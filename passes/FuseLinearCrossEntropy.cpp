// passes/FuseLinearCrossEntropy.cpp — `fuse-linear-cross-entropy`: the
// output layer, its loss and the gradient autodiff makes of them stop
// materialising the rows x V logits (issue 23.2; Wijmans et al. 2024, "Cut
// Your Losses in Large-Vocabulary Language Models", for the GPU).
//
//   l  = add(matmul(x, w), broadcast(b))          [N, V] (w [V, K] with transpose_b)
//   ce = softmax_cross_entropy(l, y)
// and, when the graph holds the gradient (after autodiff and simplify),
//   g  = mul(sub(exp(log_softmax(l)), one_hot(y)), s)   s: a splat, or a row vector broadcast
//   dx = matmul(g, w) {transpose_b = !tw}, dw = matmul(x, g) {transpose_a} (matmul(g, x) {transpose_a} when tw),
//   db = reduce_sum(g) {axes = [0]}
// become
//   t  = linear_cross_entropy_train(x, w, b, y, s)   and ce, dx, dw, db views of t
// when s does not depend on ce (a training step's mean: always), else
//   ce = linear_cross_entropy(x, w, b, y)
//   d  = linear_cross_entropy_grad(x, w, b, y, ce, s)   and dx, dw, db views of d,
// and without the gradient, ce = linear_cross_entropy(x, w, b, y) alone.
// The logits may have no other reader (the training step drops the "logits"
// output); any of dx, dw, db may be missing, nothing else may read g. The
// train op makes a block of rows' logits over the whole vocabulary in cache,
// once; the pair makes a vocabulary chunk's logits for all rows, twice (one
// product more than the unfused graph). The pass fuses only logits of at
// least `min-bytes` (Pipelines.h).
#include <optional>

#include "graph/Builder.h"
#include "graph/Constant.h"
#include "passes/Passes.h"

namespace graphc {
namespace {

struct Readers {
  std::vector<std::vector<ValueId>> of;
  std::vector<int> uses;  // node operands, outputs and updates
  // v's readers, when nothing but nodes reads it.
  const std::vector<ValueId>* onlyNodes(ValueId v) const {
    const auto& r = of[size_t(v)];
    return int(r.size()) == uses[size_t(v)] ? &r : nullptr;
  }
};

Readers readersOf(const Graph& g) {
  Readers r{std::vector<std::vector<ValueId>>(g.size()), g.useCounts()};
  for (size_t i = 0; i < g.size(); ++i)
    for (ValueId o : g.nodes[i].operands)
      if (r.of[size_t(o)].empty() || r.of[size_t(o)].back() != ValueId(i)) r.of[size_t(o)].push_back(ValueId(i));
  return r;
}

struct Layer {
  ValueId x = ValueId(0), w = ValueId(0), labels = ValueId(0), ce = ValueId(0);
  std::optional<ValueId> bias;
  bool tw = false;
};

struct Gradient {
  ValueId g = ValueId(0);             // mul(..., s), replaced by the fused gradient's views
  std::optional<double> splatScale;   // s as a splat constant
  std::optional<ValueId> rowScale;    // or s as a vector [N]
  std::optional<ValueId> dx, dw, db;  // the readers of g
};

// The layer whose loss is `ce`, if its logits are x w (+ b) read by nothing else but log_softmax.
std::optional<Layer> matchLayer(const Graph& g, const Readers& r, ValueId ce) {
  const Node& n = g.node(ce);
  ValueId l = n.operands[0];
  Layer m;
  m.labels = n.operands[1];
  m.ce = ce;
  ValueId product = l;
  if (g.node(l).op == OpKind::Add) {
    const Node& add = g.node(l);
    for (int side = 0; side < 2; ++side) {
      const Node& b = g.node(add.operands[size_t(side)]);
      if (b.op == OpKind::Broadcast && g.type(b.operands[0]).rank() == 1 && g.type(b.operands[0]).dtype == DType::F32 &&
          g.node(add.operands[size_t(1 - side)]).op == OpKind::MatMul) {
        m.bias = b.operands[0];
        product = add.operands[size_t(1 - side)];
      }
    }
    if (!m.bias) return std::nullopt;
  }
  const Node& p = g.node(product);
  if (p.op != OpKind::MatMul || p.type.rank() != 2 || attr::transposeA(p.attrs)) return std::nullopt;
  m.x = p.operands[0];
  m.w = p.operands[1];
  m.tw = attr::transposeB(p.attrs);
  if (m.bias && g.type(*m.bias).shape[0] != p.type.shape[1]) return std::nullopt;
  // Nothing but this layer reads the product (and the bias add).
  const auto* productReaders = r.onlyNodes(product);
  if (!productReaders || (product != l && productReaders->size() != 1)) return std::nullopt;
  const auto* logitReaders = r.onlyNodes(l);
  if (!logitReaders) return std::nullopt;
  for (ValueId reader : *logitReaders)
    if (reader != ce && g.node(reader).op != OpKind::LogSoftmax) return std::nullopt;
  return m;
}

// The row scale s of g = mul(d, s): a splat constant, or a vector [N] broadcast along the rows.
bool matchScale(const Graph& g, ValueId s, int64_t rows, Gradient& grad) {
  const Node& n = g.node(s);
  if (n.op == OpKind::Constant && n.type.dtype == DType::F32) {
    grad.splatScale = constantValue(n);
    return true;
  }
  if (n.op != OpKind::Broadcast) return false;
  ValueId from = n.operands[0];
  if (g.node(from).op == OpKind::Reshape) from = g.node(from).operands[0];
  if (g.type(from).dtype != DType::F32 || g.type(from).numElements() != rows ||
      (g.type(from).shape != Shape{rows} && g.type(from).shape != Shape{rows, 1}))
    return false;
  grad.rowScale = from;
  return true;
}

// The gradient autodiff made of the layer's loss, if every reader of it is one the fused gradient gives.
std::optional<Gradient> matchGradient(const Graph& g, const Readers& r, const Layer& m) {
  ValueId l = g.node(m.ce).operands[0];
  const int64_t rows = g.type(l).shape[0];
  auto single = [&](ValueId v, OpKind op) -> std::optional<ValueId> {
    const auto* readers = r.onlyNodes(v);
    if (!readers || readers->size() != 1 || g.node(readers->front()).op != op) return std::nullopt;
    return readers->front();
  };
  std::optional<ValueId> logSoftmax;
  for (ValueId reader : r.of[size_t(l)])
    if (g.node(reader).op == OpKind::LogSoftmax) logSoftmax = reader;
  if (!logSoftmax) return std::nullopt;
  auto e = single(*logSoftmax, OpKind::Exp);
  auto d = e ? single(*e, OpKind::Sub) : std::nullopt;
  if (!d || g.node(*d).operands[0] != *e) return std::nullopt;
  const Node& oneHot = g.node(g.node(*d).operands[1]);
  if (oneHot.op != OpKind::OneHot || oneHot.operands[0] != m.labels) return std::nullopt;
  auto mul = single(*d, OpKind::Mul);
  if (!mul) return std::nullopt;
  Gradient grad;
  grad.g = *mul;
  const Node& mn = g.node(*mul);
  ValueId s = mn.operands[0] == *d ? mn.operands[1] : mn.operands[0];
  if (!matchScale(g, s, rows, grad)) return std::nullopt;
  const auto* readers = r.onlyNodes(*mul);
  if (!readers) return std::nullopt;
  for (ValueId reader : *readers) {
    const Node& n = g.node(reader);
    const bool ta = n.op == OpKind::MatMul && attr::transposeA(n.attrs), tb = n.op == OpKind::MatMul && attr::transposeB(n.attrs);
    if (n.op == OpKind::ReduceSum && n.operands[0] == *mul && attr::axes(n.attrs) == std::vector<int64_t>{0} && m.bias)
      grad.db = reader;
    else if (n.op == OpKind::MatMul && n.operands[0] == *mul && n.operands[1] == m.w && !ta && tb == !m.tw)
      grad.dx = reader;
    else if (!m.tw && n.op == OpKind::MatMul && n.operands[0] == m.x && n.operands[1] == *mul && ta && !tb)
      grad.dw = reader;
    else if (m.tw && n.op == OpKind::MatMul && n.operands[0] == *mul && n.operands[1] == m.x && ta && !tb)
      grad.dw = reader;
    else
      return std::nullopt;
  }
  return grad;
}

// Whether v is computed from `from` (the graph is in topological order: nothing before `from` is).
bool dependsOn(const Graph& g, ValueId v, ValueId from) {
  std::vector<ValueId> stack = {v};
  std::vector<bool> seen(g.size(), false);
  while (!stack.empty()) {
    ValueId at = stack.back();
    stack.pop_back();
    if (at == from) return true;
    if (at < from || seen[size_t(at)]) continue;
    seen[size_t(at)] = true;
    for (ValueId o : g.node(at).operands) stack.push_back(o);
  }
  return false;
}

}  // namespace

bool fuseLinearCrossEntropy(Graph& g, int64_t minBytes) {
  const Readers readers = readersOf(g);
  std::vector<std::pair<ValueId, ValueId>> replaced;
  const size_t count = g.size();
  for (size_t i = 0; i < count; ++i) {
    if (g.nodes[i].op != OpKind::SoftmaxCrossEntropy) continue;
    const TensorType logits = g.type(g.nodes[i].operands[0]);
    if (logits.numElements() * 4 < minBytes) continue;
    std::optional<Layer> m = matchLayer(g, readers, ValueId(i));
    if (!m) continue;
    std::optional<Gradient> grad = matchGradient(g, readers, *m);
    // Logits read by a log_softmax this pass cannot replace stay unfused.
    bool readByLogSoftmax = readers.of[size_t(g.nodes[i].operands[0])].size() > 1;
    if (readByLogSoftmax && !grad) continue;
    Builder b(g);
    Builder::Group drawnIn(b, g.node(g.nodes[i].operands[0]).group);  // the output layer's
    const int64_t rows = logits.shape[0], v = logits.shape[1];
    Value bias = m->bias ? b.wrap(*m->bias) : b.constant(0.0, {v});
    Attrs attrs;
    if (m->tw) attrs[attr::key::transposeB] = int64_t(1);
    std::vector<Value> layer = {b.wrap(m->x), b.wrap(m->w), bias, b.wrap(m->labels)};
    if (!grad) {
      replaced.emplace_back(ValueId(i), b.op(OpKind::LinearCrossEntropy, layer, attrs).id());
      continue;
    }
    Value scale = grad->rowScale ? reshape(b.wrap(*grad->rowScale), {rows}) : b.constant(*grad->splatScale, {rows});
    LinearCrossEntropyGrads d;
    if (!grad->rowScale || !dependsOn(g, *grad->rowScale, ValueId(i))) {
      layer.push_back(scale);
      LinearCrossEntropyStep step = linearCrossEntropyTrain(layer, attrs);
      replaced.emplace_back(ValueId(i), step.loss.id());
      d = step.grads;
    } else {
      Value ce = b.op(OpKind::LinearCrossEntropy, layer, attrs);
      replaced.emplace_back(ValueId(i), ce.id());
      layer.push_back(ce);
      layer.push_back(scale);
      d = linearCrossEntropyGrad(layer, attrs);
    }
    if (grad->dx) replaced.emplace_back(*grad->dx, d.dx.id());
    if (grad->dw) replaced.emplace_back(*grad->dw, d.dw.id());
    if (grad->db) replaced.emplace_back(*grad->db, d.db.id());
  }
  return replaceUsesAndPrune(g, replaced);
}

}  // namespace graphc
