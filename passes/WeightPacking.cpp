// passes/WeightPacking.cpp — a right operand that several products share is
// packed into panels once, and the products read the panels:
//
//   %z1 = matmul(%h1, %W) ... %z35 = matmul(%h35, %W)
//     ==>  %Wp = pack_panels(%W) {panel_width = 32}   %z1 = packed_matmul(%h1, %Wp) {n = 512} ...
//
// The panel width is the target's (its product micro-kernel's columns), given
// as the pass option `pack-weights{panel-width=W}`; 16 without one.
//
// BPTT multiplies every time step by the same W_hh (and W_hh^T going back);
// a general product packs its right operand on every call, which for the
// seed's 32-row products is a fifth of the work. Runs after autodiff, with
// the lowering passes.
#include <fmt/format.h>
#include <map>
#include <utility>

#include "graph/Builder.h"
#include "graph/PackedLayout.h"
#include "passes/Passes.h"

namespace graphc {

bool packSharedRightOperands(Graph& g, int64_t panelWidth) {
  if (panelWidth < 1 || panelWidth > kMaxPanelWidth)
    throw Error(fmt::format("pack-weights: panel-width must be in 1..{}, got {}", kMaxPanelWidth, panelWidth));
  // (right operand, transpose_b) -> the products using it, in program order.
  std::map<std::pair<ValueId, int64_t>, std::vector<ValueId>> groups;
  for (size_t i = 0; i < g.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op == OpKind::MatMul) groups[{n.operands[1], int64_t(attr::transposeB(n.attrs))}].push_back(ValueId(i));
  }
  bool changed = false;
  for (const auto& [key, products] : groups) {
    if (products.size() < 2) continue;
    auto [rhs, tb] = key;
    Builder b(g);
    Attrs packAttrs;
    packAttrs[attr::key::panelWidth] = panelWidth;
    if (tb) packAttrs[attr::key::transpose] = int64_t(1);
    ValueId packed = b.op(OpKind::PackPanels, {b.wrap(rhs)}, packAttrs).id();
    for (ValueId p : products) {
      Node& n = g.node(p);  // the product keeps its name and type; only its operand and op change
      n.op = OpKind::PackedMatMul;
      n.operands[1] = packed;
      n.attrs.erase(attr::key::transposeB);
      n.attrs[attr::key::n] = n.type.shape[1];
    }
    changed = true;
  }
  if (changed) g.topologicalSort();  // each pack goes right before its first product
  return changed;
}

}  // namespace graphc
