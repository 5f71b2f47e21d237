// passes/BatchMatmul.cpp — a sum of matrix products that share their
// transpose flags becomes one product over operands concatenated along the
// contracted axis:  sum_i A_i^T B_i  ==  [A_1; ...; A_n]^T [B_1; ...; B_n].
// Sums of scatter_adds and of row sums (reduce_sum over axis 0) batch the
// same way: the embedding and bias gradients of BPTT.
//
// Backpropagation through time produces exactly this: the weight gradient is
// a sum of one small product per time step. One large product runs near the
// machine's peak, where T small ones each pay for packing, zeroing and
// accumulating a full weight-sized output. A concatenation along columns of
// computed values is a copy, though: the sum is not batched when it copies
// many more elements than the accumulations it saves (a word model's dlogits
// W^T + dpre V^T would copy the 18k-wide dlogits to save a 1120 x 240 add).
// Concatenations along rows cost nothing (share-concats lets the producers
// write side by side), nor do those of parameters, which are prepared once.
#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "graph/Analysis.h"
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
  return int64_t(attr::transposeA(a.attrs)) == int64_t(attr::transposeA(b.attrs)) &&
         int64_t(attr::transposeB(a.attrs)) == int64_t(attr::transposeB(b.attrs));
}

Shape trailingShape(const Graph& g, ValueId v) {
  Shape s = g.type(v).shape;
  if (!s.empty()) s.erase(s.begin());
  return s;
}

bool isRowSum(const Graph& g, const Node& n) {
  return n.op == OpKind::ReduceSum && attr::axes(n.attrs) == std::vector<int64_t>{0} &&
         g.type(n.operands[0]).rank() >= 1;
}

// Appends v to `members` when it matches the first member by `same`.
template <typename Same>
bool join(std::vector<ValueId>& members, ValueId v, Same same) {
  if (!members.empty() && !same(members.front())) return false;
  members.push_back(v);
  return true;
}

// Collects the addends of the add tree rooted at `root`, descending into
// adds used only inside the tree. An explicit stack, in the order the
// recursion had (left operand first): the depth is the input's to choose (a
// 40,000-add chain), the call stack's is not.
void collect(const Graph& g, ValueId root, const std::vector<int>& uses, SumTree& tree) {
  std::vector<std::pair<ValueId, bool>> stack = {{root, true}};
  while (!stack.empty()) {
    auto [v, isRoot] = stack.back();
    stack.pop_back();
    const Node& n = g.node(v);
    bool inner = isRoot || uses[size_t(v)] == 1;
    if (n.op == OpKind::Add && inner) {
      stack.push_back({n.operands[1], false});
      stack.push_back({n.operands[0], false});
      continue;
    }
    if (inner && isMatrixProduct(n) && join(tree.products, v, [&](ValueId f) { return sameFlags(g.node(f), n); }))
      continue;
    if (inner && n.op == OpKind::ScatterAdd &&
        join(tree.scatters, v, [&](ValueId f) { return g.node(f).attrs == n.attrs; }))
      continue;
    if (inner && isRowSum(g, n) && join(tree.rowSums, v, [&](ValueId f) {
          return trailingShape(g, g.node(f).operands[0]) == trailingShape(g, n.operands[0]);
        }))
      continue;
    tree.others.push_back(v);
  }
}

// Elements a batched product over `products` copies: the computed operands
// it concatenates along columns (operand 0 unless transposed, operand 1 when
// transposed), parameters and constants aside.
int64_t columnConcatElements(const Graph& g, const std::vector<ValueId>& products) {
  const Node& first = g.node(products.front());
  bool acrossColumns[2] = {!attr::transposeA(first.attrs), attr::transposeB(first.attrs)};
  int64_t elements = 0;
  for (ValueId p : products)
    for (size_t k : {size_t(0), size_t(1)}) {
      ValueId v = g.node(p).operands[k];
      if (acrossColumns[k] && g.node(v).op != OpKind::Param && g.node(v).op != OpKind::Constant)
        elements += g.type(v).numElements();
    }
  return elements;
}

// Batching pays unless it copies several elements per accumulated element it
// saves: an accumulation reads two outputs and writes one, and the unbatched
// products, shorter along K, run further from the peak (an LSTM gate's [x, h]
// copies 2 elements per element saved, a word model's dlogits 75).
constexpr int64_t kCopiesPerSavedElement = 4;

bool batchingPays(const Graph& g, const std::vector<ValueId>& products) {
  int64_t savedAccumulations = int64_t(products.size() - 1) * g.type(products.front()).numElements();
  return columnConcatElements(g, products) <= kCopiesPerSavedElement * savedAccumulations;
}

}  // namespace

namespace {

// The order in which each set of values was concatenated by a batched product
// (sorted set -> order), so that order-insensitive sums over the same values
// (row sums, scatter-adds) reuse that concatenation instead of making another.
using ConcatOrders = std::map<std::vector<ValueId>, std::vector<ValueId>>;

std::vector<ValueId> sortedSet(std::vector<ValueId> values) {
  std::sort(values.begin(), values.end());
  return values;
}

// The terms reordered so that their operand k runs in a known concatenation's order.
std::vector<ValueId> inKnownOrder(const Graph& g, std::vector<ValueId> terms, size_t k, const ConcatOrders& known) {
  std::vector<ValueId> operands;
  for (ValueId t : terms) operands.push_back(g.node(t).operands[k]);
  auto it = known.find(sortedSet(operands));
  if (it == known.end()) return terms;
  // Each known value claims the first unclaimed term using it (linear: the
  // scan of every term per value was quadratic in the time steps).
  std::map<ValueId, std::vector<ValueId>> termsUsing;
  for (auto t = terms.rbegin(); t != terms.rend(); ++t) termsUsing[g.node(*t).operands[k]].push_back(*t);
  std::vector<ValueId> out;
  for (ValueId v : it->second) {
    std::vector<ValueId>& unclaimed = termsUsing[v];
    if (unclaimed.empty()) continue;
    out.push_back(unclaimed.back());
    unclaimed.pop_back();
  }
  return out;
}

std::vector<Value> operandsInOrder(Builder& b, const std::vector<ValueId>& terms, size_t k) {
  std::vector<Value> out;
  for (ValueId t : terms) out.push_back(b.wrap(b.graph().node(t).operands[k]));
  return out;
}

std::vector<ValueId> byOperands(const Graph& g, std::vector<ValueId> terms) {
  std::sort(terms.begin(), terms.end(), [&](ValueId x, ValueId y) { return g.node(x).operands < g.node(y).operands; });
  return terms;
}

}  // namespace

bool batchMatmulSums(Graph& g) {
  auto uses = g.useCounts();
  std::vector<bool> insideTree(g.size(), false);
  std::vector<std::pair<ValueId, SumTree>> trees;
  // Roots are adds not themselves folded into an enclosing single-use add; walk backwards.
  for (size_t i = g.size(); i-- > 0;) {
    if (g.nodes[i].op != OpKind::Add || insideTree[i] || g.nodes[i].type.dtype != DType::F32) continue;
    SumTree tree;
    collect(g, ValueId(i), uses, tree);
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
    if (tree.products.size() >= 2 || tree.scatters.size() >= 2 || tree.rowSums.size() >= 2)
      trees.emplace_back(ValueId(i), std::move(tree));
  }
  if (trees.empty()) return false;
  Builder b(g);
  // Products first: they fix the order of each concatenation along rows.
  ConcatOrders orders;
  std::vector<std::vector<Value>> terms(trees.size());
  for (size_t t = 0; t < trees.size(); ++t) {
    SumTree& tree = trees[t].second;
    if (tree.products.size() < 2 || !batchingPays(g, tree.products)) {
      tree.others.insert(tree.others.end(), tree.products.begin(), tree.products.end());
      continue;
    }
    const Node& flags = g.node(tree.products.front());
    bool ta = attr::transposeA(flags.attrs), tb = attr::transposeB(flags.attrs);
    std::vector<ValueId> order = byOperands(g, tree.products);
    for (size_t k : {size_t(0), size_t(1)}) {
      bool alongRows = k == 0 ? ta : !tb;
      if (!alongRows) continue;
      std::vector<ValueId> operands;
      for (ValueId p : order) operands.push_back(g.node(p).operands[k]);
      orders.emplace(sortedSet(operands), operands);
    }
    // Contracted axes: rows of A^T's source or columns of A; columns of B^T's source or rows of B.
    terms[t].push_back(matmul(concat(operandsInOrder(b, order, 0), ta ? 0 : 1),
                              concat(operandsInOrder(b, order, 1), tb ? 1 : 0), ta, tb));
  }
  for (size_t t = 0; t < trees.size(); ++t) {
    SumTree& tree = trees[t].second;
    if (tree.scatters.size() >= 2) {
      // sum_i scatter_add(U_i, I_i) == scatter_add([U_1; ...], [I_1; ...]): the rows land in the same places.
      std::vector<ValueId> order = inKnownOrder(g, byOperands(g, tree.scatters), 0, orders);
      Attrs attrs = g.node(tree.scatters.front()).attrs;
      terms[t].push_back(b.op(OpKind::ScatterAdd,
                              {concat(operandsInOrder(b, order, 0), 0), concat(operandsInOrder(b, order, 1), 0)},
                              attrs));
    } else {
      tree.others.insert(tree.others.end(), tree.scatters.begin(), tree.scatters.end());
    }
    if (tree.rowSums.size() >= 2) {
      // sum_i reduce_sum(X_i, axis 0) == reduce_sum([X_1; ...], axis 0): one pass, no chain of adds.
      std::vector<ValueId> order = inKnownOrder(g, byOperands(g, tree.rowSums), 0, orders);
      terms[t].push_back(reduceSum(concat(operandsInOrder(b, order, 0), 0), {0}));
    } else {
      tree.others.insert(tree.others.end(), tree.rowSums.begin(), tree.rowSums.end());
    }
    if (terms[t].empty()) continue;  // nothing in this sum batched: it stays as it is
    Value sum = terms[t].front();
    for (size_t k = 1; k < terms[t].size(); ++k) sum = sum + terms[t][k];
    for (ValueId o : tree.others) sum = sum + b.wrap(o);
    // The new nodes sit at the end; move the old root's uses to them.
    g.replaceAllUses(trees[t].first, sum.id());
  }
  // Appended nodes may be used by nodes before them: restore definition
  // order first (DCE relies on it), then drop the replaced sums.
  g.topologicalSort();
  eliminateDeadCode(g);
  return true;
}

}  // namespace graphc
