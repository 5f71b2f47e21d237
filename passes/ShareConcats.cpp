// passes/ShareConcats.cpp — two concatenations that are shifted windows of
// one sequence become slices of a single concatenation:
//
//   %a = concat(%h1, ..., %h35)        %u = concat(%H, %h1, ..., %h35)
//   %b = concat(%H, %h1, ..., %h34) =>  %a = slice(%u) rows 32..1152
//                                       %b = slice(%u) rows 0..1120
//
// BPTT builds exactly this pair: the steps' states for the output layer and,
// one step behind, the previous states for the weight gradient. The plan pass
// then computes each state in place in %u and makes both slices views, so
// neither copy of the whole sequence is made. Runs with the lowering passes.
#include <algorithm>

#include "graph/Builder.h"
#include "passes/Passes.h"

namespace graphc {
namespace {

bool rowConcat(const Node& n) { return n.op == OpKind::Concat && attr::axis(n.attrs) == 0; }

// Rows (axis-0 extent) of the given values.
int64_t rowsOf(const Graph& g, std::vector<ValueId>::const_iterator first, std::vector<ValueId>::const_iterator last) {
  int64_t rows = 0;
  for (auto it = first; it != last; ++it) rows += g.type(*it).shape[0];
  return rows;
}

}  // namespace

bool shareConcatWindows(Graph& g) {
  bool changed = false;
  size_t count = g.size();
  std::vector<char> done(count, 0);
  for (size_t ai = 0; ai < count; ++ai) {
    if (done[ai] || !rowConcat(g.nodes[ai])) continue;
    for (size_t bi = 0; bi < count; ++bi) {
      if (bi == ai || done[bi] || done[ai] || !rowConcat(g.nodes[bi])) continue;
      const auto a = g.nodes[ai].operands, b = g.nodes[bi].operands;
      if (g.nodes[ai].type.dtype != g.nodes[bi].type.dtype || g.nodes[ai].type.rank() != g.nodes[bi].type.rank())
        continue;
      // b = lead + a[0..j) and a = a[0..j) + rest, with the overlap at least half of each.
      for (size_t lead = 1; lead < b.size(); ++lead) {
        size_t j = b.size() - lead;
        if (j > a.size() || 2 * j < a.size() || 2 * j < b.size()) continue;
        if (!std::equal(b.begin() + long(lead), b.end(), a.begin())) continue;
        Builder builder(g);
        std::vector<Value> all;
        for (size_t k = 0; k < lead; ++k) all.push_back(builder.wrap(b[k]));
        for (ValueId v : a) all.push_back(builder.wrap(v));
        Value u = concat(all, 0);
        Shape begin(size_t(u.type().rank()), 0), endA = u.shape(), endB = u.shape();
        Shape beginA = begin;
        beginA[0] = rowsOf(g, b.begin(), b.begin() + long(lead));
        endB[0] = rowsOf(g, b.begin(), b.end());
        Value sa = slice(u, beginA, endA), sb = slice(u, begin, endB);
        g.replaceAllUses(ValueId(ai), sa.id());
        g.replaceAllUses(ValueId(bi), sb.id());
        done[ai] = done[bi] = 1;
        changed = true;
        break;
      }
    }
  }
  if (changed) {
    g.topologicalSort();
    eliminateDeadCode(g);
  }
  return changed;
}

}  // namespace graphc
