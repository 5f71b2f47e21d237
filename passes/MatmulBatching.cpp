// passes/MatmulBatching.cpp — a sum of matrix products that share their
// transpose flags becomes one product over operands concatenated along the
// contracted axis:  sum_i A_i^T B_i  ==  [A_1; ...; A_n]^T [B_1; ...; B_n].
//
// Backpropagation through time produces exactly this: the weight gradient is
// a sum of one small product per time step. One large product runs near the
// machine's peak, where T small ones each pay for packing, zeroing and
// accumulating a full weight-sized output.
#include <algorithm>
#include <fmt/format.h>

#include "graph/Builder.h"
#include "passes/Passes.h"

namespace graphc {
namespace {

struct SumTree {
  std::vector<ValueId> products;  // single-use matmuls with the root's flags
  std::vector<ValueId> others;    // any other addends
};

bool sameFlags(const Node& a, const Node& b) {
  return attrInt(a.attrs, "transpose_a", 0) == attrInt(b.attrs, "transpose_a", 0) &&
         attrInt(a.attrs, "transpose_b", 0) == attrInt(b.attrs, "transpose_b", 0);
}

// Collects the addends of the add tree rooted at `v`, descending into adds and
// matmuls used only inside the tree.
void collect(const Graph& g, ValueId v, const std::vector<int>& uses, const Node*& flags, SumTree& tree, bool isRoot) {
  const Node& n = g.node(v);
  bool inner = isRoot || uses[size_t(v)] == 1;
  if (n.op == OpKind::Add && inner) {
    collect(g, n.operands[0], uses, flags, tree, false);
    collect(g, n.operands[1], uses, flags, tree, false);
    return;
  }
  if (n.op == OpKind::MatMul && inner && (!flags || sameFlags(*flags, n))) {
    if (!flags) flags = &n;
    tree.products.push_back(v);
    return;
  }
  tree.others.push_back(v);
}

}  // namespace

bool batchMatmulSums(Graph& g) {
  bool changed = false;
  auto uses = g.useCounts();
  std::vector<bool> insideTree(g.size(), false);
  // Roots are adds not themselves folded into an enclosing single-use add; walk backwards.
  for (size_t i = g.size(); i-- > 0;) {
    if (g.nodes[i].op != OpKind::Add || insideTree[i] || g.nodes[i].type.dtype != DType::F32) continue;
    SumTree tree;
    const Node* flags = nullptr;
    collect(g, ValueId(i), uses, flags, tree, true);
    // Mark the tree's inner adds so they are not treated as roots again.
    std::vector<ValueId> stack = {ValueId(i)};
    while (!stack.empty()) {
      ValueId v = stack.back();
      stack.pop_back();
      const Node& n = g.node(v);
      if (n.op == OpKind::Add && (v == ValueId(i) || uses[size_t(v)] == 1)) {
        insideTree[size_t(v)] = true;
        stack.insert(stack.end(), n.operands.begin(), n.operands.end());
      }
    }
    if (tree.products.size() < 2) continue;
    bool ta = attrInt(flags->attrs, "transpose_a", 0) != 0, tb = attrInt(flags->attrs, "transpose_b", 0) != 0;
    std::vector<ValueId> products = tree.products;
    std::sort(products.begin(), products.end());  // concatenate in program order
    Builder b(g);
    std::vector<Value> lhs, rhs;
    for (ValueId p : products) {
      lhs.push_back(b.wrap(g.node(p).operands[0]));
      rhs.push_back(b.wrap(g.node(p).operands[1]));
    }
    // Contracted axes: rows of A^T's source or columns of A; columns of B^T's source or rows of B.
    Value sum = matmul(concat(lhs, ta ? 0 : 1), concat(rhs, tb ? 1 : 0), ta, tb);
    for (ValueId o : tree.others) sum = sum + b.wrap(o);
    // The new nodes sit at the end; move the old root's uses to them.
    g.replaceAllUses(ValueId(i), sum.id());
    changed = true;
  }
  if (changed) {
    // Appended nodes may be used by nodes before them: restore definition
    // order first (DCE relies on it), then drop the replaced sums.
    g.topologicalSort();
    eliminateDeadCode(g);
  }
  return changed;
}

}  // namespace graphc
