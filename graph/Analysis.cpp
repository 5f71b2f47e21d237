// graph/Analysis.cpp — FLOP and kernel counting.
#include "graph/Analysis.h"

#include <algorithm>

namespace graphc {

bool isMatrixProduct(const Node& n) { return n.op == OpKind::MatMul && n.type.rank() == 2; }

int64_t contractionLength(const Graph& g, const Node& product) {
  const Shape& lhs = g.type(product.operands[0]).shape;
  return lhs[lhs.size() - (attr::transposeA(product.attrs) ? 2 : 1)];
}

int64_t batchCount(const TensorType& product) {
  int64_t count = 1;
  for (size_t d = 0; d + 2 < product.shape.size(); ++d) count *= product.shape[d];
  return count;
}

int64_t estimateFlops(const Graph& g) {
  int64_t flops = 0;
  for (const Node& n : g.nodes) {
    int64_t out = n.type.numElements();
    if (n.op == OpKind::MatMul || n.op == OpKind::PackedMatMul) {
      flops += 2 * out * contractionLength(g, n);
    } else if (n.op == OpKind::Fused) {
      for (const Node& b : n.body->nodes)  // a concatenated kernel's pieces are narrower than its result
        if (hasTrait(b.op, kElementwise)) flops += b.type.numElements();
    } else if (hasTrait(n.op, kElementwise)) {
      flops += out;
    } else if (hasTrait(n.op, kReduction)) {
      flops += g.type(n.operands[0]).numElements();
    } else if (n.op == OpKind::SumSquares) {
      flops += 2 * g.type(n.operands[0]).numElements();
    } else if (n.op == OpKind::LogSoftmax || n.op == OpKind::SoftmaxCrossEntropy) {
      flops += 4 * g.type(n.operands[0]).numElements();
    } else if (n.op == OpKind::LinearCrossEntropy || n.op == OpKind::LinearCrossEntropyGrad ||
               n.op == OpKind::LinearCrossEntropyTrain) {
      // The logits' product (made again by the gradient, which adds dx's and dw's; made once by
      // the train op), then the row work.
      const int64_t logits = g.type(n.operands[0]).shape[0] * g.type(n.operands[2]).shape[0];
      const int64_t products = n.op == OpKind::LinearCrossEntropy ? 1 : 3;
      flops += products * 2 * logits * g.type(n.operands[0]).shape[1] + 4 * logits;
    }
  }
  return flops;
}

int64_t countKernels(const Graph& g) {
  int64_t k = 0;
  for (const Node& n : g.nodes) k += n.op != OpKind::Input && n.op != OpKind::Param && n.op != OpKind::State;
  return k;
}

std::vector<RunSpan> runSpans(const Graph& g) {
  const int64_t n = int64_t(g.size());
  std::vector<RunSpan> spans(g.size());
  for (int64_t i = 0; i < n;) {
    int64_t last = i;
    if (g.nodes[size_t(i)].op == OpKind::PackedMatMul)
      while (last + 1 < n && attr::epilogue(g.nodes[size_t(last + 1)].attrs)) ++last;
    for (int64_t k = i; k <= last; ++k) spans[size_t(k)] = {i, last};
    i = last + 1;
  }
  return spans;
}

bool mayWriteOver(const Graph& g, ValueId value, ValueId target, const std::vector<int64_t>& lastRead,
                  const std::vector<RunSpan>& spans) {
  const Node& v = g.node(value);
  if (v.op != OpKind::Fused || !v.body || v.type != g.type(target)) return false;
  if (lastRead[size_t(target)] > int64_t(value)) return false;
  const RunSpan span = spans[size_t(value)];
  for (int64_t k = span.first; k <= span.last; ++k) {
    const auto& operands = g.nodes[size_t(k)].operands;
    if (k != int64_t(value) && std::find(operands.begin(), operands.end(), target) != operands.end()) return false;
  }
  for (const auto& out : g.outputs)
    if (out.value == target) return false;
  for (const auto& u : g.updates)
    if (u.value == target) return false;  // the executor reads it after the run
  const Graph& body = *v.body;
  const std::vector<int64_t> input = bodyInputIndex(body);
  for (const Node& b : body.nodes) {
    if (b.op != OpKind::Broadcast && b.op != OpKind::Gather && b.op != OpKind::Slice) continue;
    for (ValueId o : b.operands)
      if (input[size_t(o)] >= 0 && v.operands[size_t(input[size_t(o)])] == target) return false;
  }
  return true;
}

std::vector<int64_t> lastReaders(const Graph& g) {
  std::vector<int64_t> lastRead(g.size(), -1);
  for (size_t i = 0; i < g.size(); ++i)
    for (ValueId o : g.nodes[i].operands) lastRead[size_t(o)] = int64_t(i);
  return lastRead;
}

}  // namespace graphc
