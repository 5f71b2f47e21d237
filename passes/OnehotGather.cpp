// passes/OnehotGather.cpp — a product with a one-hot matrix selects rows:
//
//   matmul(one_hot(i), W)                     ==  gather(W, i)
//   matmul(one_hot(i), G) {transpose_a = 1}   ==  scatter_add(G, i) {rows = depth}
//
// The seed feeds characters to the RNN as one-hot rows times W_xh, and its
// gradient is one_hot^T times the step's error: as products they cost
// 2 * depth FLOPs per output element, as gathers a copy. Out-of-range indices
// keep one_hot's meaning (a zero row) through zero_out_of_range.
#include "graph/Analysis.h"
#include "graph/Builder.h"
#include "passes/Passes.h"

namespace graphc {

bool oneHotProductsToGathers(Graph& g) {
  bool changed = false;
  size_t count = g.size();  // nodes appended below are gathers, not products
  std::vector<std::pair<ValueId, ValueId>> replaced;  // applied in one pass at the end
  for (size_t i = 0; i < count; ++i) {
    const Node& n = g.nodes[i];
    if (!isMatrixProduct(n) || attr::transposeB(n.attrs)) continue;
    const Node& lhs = g.node(n.operands[0]);
    if (lhs.op != OpKind::OneHot || g.type(lhs.operands[0]).rank() != 1) continue;
    bool ta = attr::transposeA(n.attrs);
    Builder b(g);
    Builder::Group layer(b, n.group);
    Value indices = b.wrap(lhs.operands[0]), rhs = b.wrap(n.operands[1]);
    int64_t depth = attr::depth(lhs.attrs);
    Value rows = ta ? scatterAdd(rhs, indices, depth, true) : gather(rhs, indices, true);
    replaced.emplace_back(ValueId(i), rows.id());
    changed = true;
  }
  if (changed) {
    g.replaceUses(replaced);
    g.topologicalSort();
    eliminateDeadCode(g);
  }
  return changed;
}

}  // namespace graphc
