// passes/MatmulBatching.cpp — a sum of matrix products that share their
// transpose flags becomes one product over operands concatenated along the
// contracted axis:  sum_i A_i^T B_i  ==  [A_1; ...; A_n]^T [B_1; ...; B_n].
// Sums of scatter_adds and of row sums (reduce_sum over axis 0) batch the
// same way: the embedding and bias gradients of BPTT.
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

// The addends of one sum, by kind: the kinds that batch, and the rest.
struct SumTree {
  std::vector<ValueId> products;  // single-use matmuls with the first one's flags
  std::vector<ValueId> scatters;  // single-use scatter_adds with the first one's attributes
  std::vector<ValueId> rowSums;   // single-use reduce_sums over axis 0 alone, of one trailing shape
  std::vector<ValueId> others;    // any other addends
};

bool sameFlags(const Node& a, const Node& b) {
  return attrInt(a.attrs, "transpose_a", 0) == attrInt(b.attrs, "transpose_a", 0) &&
         attrInt(a.attrs, "transpose_b", 0) == attrInt(b.attrs, "transpose_b", 0);
}

Shape trailingShape(const Graph& g, ValueId v) {
  Shape s = g.type(v).shape;
  if (!s.empty()) s.erase(s.begin());
  return s;
}

bool isRowSum(const Graph& g, const Node& n) {
  return n.op == OpKind::ReduceSum && attrInts(n.attrs, "axes") == std::vector<int64_t>{0} &&
         g.type(n.operands[0]).rank() >= 1;
}

// Appends v to `members` when it matches the first member by `same`.
template <typename Same>
bool join(std::vector<ValueId>& members, ValueId v, Same same) {
  if (!members.empty() && !same(members.front())) return false;
  members.push_back(v);
  return true;
}

// Collects the addends of the add tree rooted at `v`, descending into adds
// used only inside the tree.
void collect(const Graph& g, ValueId v, const std::vector<int>& uses, SumTree& tree, bool isRoot) {
  const Node& n = g.node(v);
  bool inner = isRoot || uses[size_t(v)] == 1;
  if (n.op == OpKind::Add && inner) {
    collect(g, n.operands[0], uses, tree, false);
    collect(g, n.operands[1], uses, tree, false);
    return;
  }
  if (inner && n.op == OpKind::MatMul && join(tree.products, v, [&](ValueId f) { return sameFlags(g.node(f), n); }))
    return;
  if (inner && n.op == OpKind::ScatterAdd && join(tree.scatters, v, [&](ValueId f) { return g.node(f).attrs == n.attrs; }))
    return;
  if (inner && isRowSum(g, n) && join(tree.rowSums, v, [&](ValueId f) {
        return trailingShape(g, g.node(f).operands[0]) == trailingShape(g, n.operands[0]);
      }))
    return;
  tree.others.push_back(v);
}

// Operand k of each node, in program order.
std::vector<Value> operandsOf(Builder& b, std::vector<ValueId> nodes, size_t k) {
  std::sort(nodes.begin(), nodes.end());
  std::vector<Value> out;
  for (ValueId v : nodes) out.push_back(b.wrap(b.graph().node(v).operands[k]));
  return out;
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
    collect(g, ValueId(i), uses, tree, true);
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
    if (tree.products.size() < 2 && tree.scatters.size() < 2 && tree.rowSums.size() < 2) continue;
    Builder b(g);
    std::vector<Value> terms;
    if (tree.products.size() >= 2) {
      const Node& flags = g.node(tree.products.front());
      bool ta = attrInt(flags.attrs, "transpose_a", 0) != 0, tb = attrInt(flags.attrs, "transpose_b", 0) != 0;
      // Contracted axes: rows of A^T's source or columns of A; columns of B^T's source or rows of B.
      terms.push_back(matmul(concat(operandsOf(b, tree.products, 0), ta ? 0 : 1),
                             concat(operandsOf(b, tree.products, 1), tb ? 1 : 0), ta, tb));
    } else {
      tree.others.insert(tree.others.end(), tree.products.begin(), tree.products.end());
    }
    if (tree.scatters.size() >= 2) {
      // sum_i scatter_add(U_i, I_i) == scatter_add([U_1; ...], [I_1; ...]): the rows land in the same places.
      Attrs attrs = g.node(tree.scatters.front()).attrs;
      terms.push_back(b.op(OpKind::ScatterAdd,
                           {concat(operandsOf(b, tree.scatters, 0), 0), concat(operandsOf(b, tree.scatters, 1), 0)},
                           attrs));
    } else {
      tree.others.insert(tree.others.end(), tree.scatters.begin(), tree.scatters.end());
    }
    if (tree.rowSums.size() >= 2) {
      // sum_i reduce_sum(X_i, axis 0) == reduce_sum([X_1; ...], axis 0): one pass, no chain of adds.
      terms.push_back(reduceSum(concat(operandsOf(b, tree.rowSums, 0), 0), {0}));
    } else {
      tree.others.insert(tree.others.end(), tree.rowSums.begin(), tree.rowSums.end());
    }
    Value sum = terms.front();
    for (size_t t = 1; t < terms.size(); ++t) sum = sum + terms[t];
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
