// passes/ConcatGrid.cpp — a grid of blocks concatenated columns-of-rows
// becomes rows-of-columns, the order the blocks are made in:
//
//   %A_g = concat(%a_g1, ..., %a_gT) {axis = 0}     for each gate g
//   %X   = concat(%A_1, ..., %A_G)   {axis = 1}
// =>
//   %P_t = concat(%a_1t, ..., %a_Gt) {axis = 1}     for each step t
//   %X   = concat(%P_1, ..., %P_T)   {axis = 0}
//
// BPTT through a GRU or LSTM makes this grid: batch-matmul concatenates each
// gate's gradient over the steps (%A_g, for the weight gradient, the embedding
// scatter-add and the bias row sum), merge-products then puts the gates side
// by side (%X, the right operand of the one weight-gradient product), and each
// step's recurrent gradient multiplies that step's row of the grid (%P_t).
// Columns of rows is a copy of the whole grid (4.5 MB a step for the lstm
// module); rows of columns is free, since the plan pass makes each %P_t in
// place in %X, and the steps' products read their row of it as a view.
//
// The steps' %P_t are found among the existing concatenations (in any order
// of the gates, as long as every reader is a product whose other operand is
// concatenated in the same blocks: both are then put in %X's order, which
// only reorders the product's sum over the gates) or made. Any other reader
// of a gate's %A_g reads its columns of %X: a scatter-add or row sum is taken
// over all of %X once and sliced (both add each column on its own, so the
// bits are the same), anything else reads a column slice.
#include <algorithm>
#include <map>
#include <numeric>

#include "graph/Analysis.h"
#include "graph/Builder.h"
#include "passes/Passes.h"

namespace graphc {
namespace {

bool isConcat2d(const Node& n, int64_t axis) {
  return n.op == OpKind::Concat && n.type.rank() == 2 && attr::axis(n.attrs) == axis && n.type.dtype == DType::F32;
}

std::vector<std::vector<ValueId>> userLists(const Graph& g) {
  std::vector<std::vector<ValueId>> users(g.size());
  for (size_t i = 0; i < g.size(); ++i)
    for (ValueId o : g.nodes[i].operands)
      if (users[size_t(o)].empty() || users[size_t(o)].back() != ValueId(i)) users[size_t(o)].push_back(ValueId(i));
  for (const auto& o : g.outputs) users[size_t(o.value)].push_back(-1);
  for (const auto& u : g.updates) users[size_t(u.value)].push_back(-1);
  return users;
}

// The grid under %X: blocks[g][t], or empty when %X is not one.
std::vector<std::vector<ValueId>> gridOf(const Graph& g, const Node& x) {
  std::vector<std::vector<ValueId>> blocks;
  for (ValueId a : x.operands) {
    const Node& col = g.node(a);
    if (!isConcat2d(col, 0)) return {};
    if (!blocks.empty() && col.operands.size() != blocks.front().size()) return {};
    blocks.push_back(col.operands);
  }
  if (blocks.size() < 2 || blocks.front().size() < 2) return {};
  for (size_t t = 0; t < blocks.front().size(); ++t)
    for (size_t gate = 1; gate < blocks.size(); ++gate)
      if (g.type(blocks[gate][t]).shape[0] != g.type(blocks[0][t]).shape[0]) return {};
  // Only computed blocks: a grid of params (a stacked layer's input and
  // recurrent weights, gate by gate) is prepared once per step, and its
  // columns are what products share. A gate repeated (or a block in two
  // gates) would be hosted twice.
  std::vector<ValueId> all;
  for (const auto& column : blocks) all.insert(all.end(), column.begin(), column.end());
  for (ValueId v : all)
    if (isSignature(g.node(v).op) || g.node(v).op == OpKind::Constant) return {};
  std::sort(all.begin(), all.end());
  if (std::adjacent_find(all.begin(), all.end()) != all.end()) return {};
  return blocks;
}

// For an existing step concatenation %p of the blocks `row` in another order:
// order[k] = the gate of %p's k-th block, or empty when %p is not one.
std::vector<size_t> gateOrder(const Node& p, const std::vector<ValueId>& row) {
  if (p.operands.size() != row.size()) return {};
  std::vector<size_t> order;
  for (ValueId o : p.operands) {
    auto it = std::find(row.begin(), row.end(), o);
    if (it == row.end()) return {};
    order.push_back(size_t(it - row.begin()));
  }
  std::vector<size_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 0; k < sorted.size(); ++k)
    if (sorted[k] != k) return {};
  return order;
}

// Whether product %m reads %p (blocks of widths `widths`) as its left operand
// against a right operand concatenated in the same blocks along its contracted axis.
bool blockwiseProduct(const Graph& g, const Node& m, ValueId p, const std::vector<int64_t>& widths) {
  if (!isMatrixProduct(m) || m.operands[0] != p || m.operands[1] == p || attr::transposeA(m.attrs)) return false;
  bool tb = attr::transposeB(m.attrs);
  const Node& q = g.node(m.operands[1]);
  if (q.op != OpKind::Concat || q.type.rank() != 2 || attr::axis(q.attrs) != (tb ? 1 : 0)) return false;
  if (q.operands.size() != widths.size()) return false;
  for (size_t k = 0; k < widths.size(); ++k)
    if (g.type(q.operands[k]).shape[tb ? 1 : 0] != widths[k]) return false;
  return true;
}

}  // namespace

bool interchangeConcatGrids(Graph& g) {
  bool changed = false;
  const size_t count = g.size();
  for (size_t xi = 0; xi < count; ++xi) {
    if (!isConcat2d(g.nodes[xi], 1)) continue;
    const auto blocks = gridOf(g, g.nodes[xi]);
    if (blocks.empty()) continue;
    const size_t gates = blocks.size(), steps = blocks.front().size();
    const auto users = userLists(g);
    Builder b(g);
    std::vector<Value> stepRows;
    std::map<std::pair<ValueId, std::vector<size_t>>, Value> reordered;  // (right operand, order) -> in %X's order
    for (size_t t = 0; t < steps; ++t) {
      std::vector<ValueId> row(gates);
      for (size_t gate = 0; gate < gates; ++gate) row[gate] = blocks[gate][t];
      Builder::Group layer(b, commonLayer(g, row));  // drawn where the step's blocks are
      std::vector<Value> parts;
      for (ValueId v : row) parts.push_back(b.wrap(v));
      // An existing step concatenation, in the grid's order or one whose
      // readers can all be reordered with it.
      ValueId found = -1;
      std::vector<size_t> order;
      for (ValueId u : users[size_t(row[0])]) {
        if (u < 0 || ValueId(xi) == u || !isConcat2d(g.node(u), 1)) continue;
        std::vector<size_t> o = gateOrder(g.node(u), row);
        if (o.empty()) continue;
        bool identity = std::is_sorted(o.begin(), o.end());
        std::vector<int64_t> widths;
        for (size_t gate : o) widths.push_back(g.type(row[gate]).shape[1]);
        bool movable = true;
        for (ValueId r : users[size_t(u)]) movable &= r >= 0 && blockwiseProduct(g, g.node(r), u, widths);
        if (identity || movable) {
          found = u;
          order = o;
          if (identity) break;
        }
      }
      if (found < 0) {
        stepRows.push_back(concat(parts, 1));
        continue;
      }
      if (std::is_sorted(order.begin(), order.end())) {
        stepRows.push_back(b.wrap(found));
        continue;
      }
      Value p = concat(parts, 1);
      for (ValueId r : users[size_t(found)]) {
        const Node& m = g.node(r);
        bool tb = attr::transposeB(m.attrs);
        auto key = std::make_pair(m.operands[1], order);
        if (!reordered.count(key)) {
          const Node& q = g.node(m.operands[1]);
          std::vector<Value> qParts(gates, b.wrap(q.operands[0]));
          for (size_t k = 0; k < gates; ++k) qParts[order[k]] = b.wrap(q.operands[k]);
          reordered.emplace(key, concat(qParts, tb ? 1 : 0));
        }
        Value product = matmul(p, reordered.at(key), false, tb);
        g.replaceAllUses(r, product.id());
      }
      stepRows.push_back(p);
    }
    Builder::Group layer(b, g.nodes[xi].group);  // drawn where the grid it replaces was
    Value grid = concat(stepRows, 0);
    const ValueId x = ValueId(xi);
    const std::vector<ValueId> gateColumns = g.nodes[xi].operands;
    g.replaceAllUses(x, grid.id());
    // The gates' other readers read their columns of the grid.
    const int64_t rows = grid.dim(0);
    std::map<std::vector<int64_t>, Value> wholeGrid;  // (op, index operand, attributes) -> over the grid
    int64_t offset = 0;
    for (ValueId a : gateColumns) {
      const int64_t width = g.type(a).shape[1];
      const std::vector<ValueId> readers = userLists(g)[size_t(a)];
      for (ValueId r : readers) {
        if (r < 0 || r == x) continue;
        const Node& n = g.node(r);
        if (n.op == OpKind::ScatterAdd && n.operands[0] == a) {
          std::vector<int64_t> key = {0, n.operands[1], attr::rows(n.attrs), int64_t(attr::zeroOutOfRange(n.attrs))};
          if (!wholeGrid.count(key))
            wholeGrid.emplace(key, scatterAdd(grid, b.wrap(n.operands[1]), attr::rows(n.attrs),
                                              attr::zeroOutOfRange(n.attrs)));
          Value all = wholeGrid.at(key);
          g.replaceAllUses(r, slice(all, {0, offset}, {all.dim(0), offset + width}).id());
        } else if (n.op == OpKind::ReduceSum && attr::axes(n.attrs) == std::vector<int64_t>{0}) {
          std::vector<int64_t> key = {1};
          if (!wholeGrid.count(key)) wholeGrid.emplace(key, reduceSum(grid, {0}));
          g.replaceAllUses(r, slice(wholeGrid.at(key), {offset}, {offset + width}).id());
        }
      }
      const auto left = userLists(g)[size_t(a)];
      if (std::any_of(left.begin(), left.end(), [&](ValueId r) { return r != x; }))
        g.replaceAllUses(a, slice(grid, {0, offset}, {rows, offset + width}).id());
      offset += width;
    }
    changed = true;
  }
  if (changed) {
    g.topologicalSort();
    eliminateDeadCode(g);
  }
  return changed;
}

}  // namespace graphc
