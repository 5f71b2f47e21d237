// passes/PackWeights.cpp — a right operand that several products share is
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
//
// pack-params is the variant for programs whose params do not change while
// they run (generation, an exported library): every product over a param
// reads a new param that holds it packed,
//
//   %z = matmul(%h, %W_hh)  ==>  %W_hh.packed32 = param {packed_from = "W_hh", panel_width = 32}
//                                %z = packed_matmul(%h, %W_hh.packed32) {n = 512}
//
// and the runtime packs the values once (or the exporter, into constants).
#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <utility>

#include "graph/Analysis.h"
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
    if (isMatrixProduct(n)) groups[{n.operands[1], int64_t(attr::transposeB(n.attrs))}].push_back(ValueId(i));
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

bool packParamOperands(Graph& g, int64_t panelWidth) {
  if (panelWidth < 1 || panelWidth > kMaxPanelWidth)
    throw Error(fmt::format("pack-params: panel-width must be in 1..{}, got {}", kMaxPanelWidth, panelWidth));
  std::map<std::pair<ValueId, int64_t>, ValueId> packedParams;  // (param, transpose_b) -> its packed param
  std::vector<ValueId> products;
  for (size_t i = 0; i < g.size(); ++i) {
    const Node& n = g.nodes[i];
    if (isMatrixProduct(n) && g.node(n.operands[1]).op == OpKind::Param) products.push_back(ValueId(i));
  }
  for (ValueId p : products) {
    ValueId rhs = g.node(p).operands[1];
    int64_t tb = attr::transposeB(g.node(p).attrs);
    auto [it, fresh] = packedParams.try_emplace({rhs, tb}, ValueId(-1));
    if (fresh) {
      const Node& source = g.node(rhs);
      int64_t k = source.type.shape[tb ? 1 : 0], n = source.type.shape[tb ? 0 : 1];
      // A narrow product (the 28 logits) gets panels just wide enough: whole 64-byte lines.
      int64_t width = std::min(panelWidth, (n + 15) / 16 * 16);
      Node packed;
      packed.op = OpKind::Param;
      packed.name = fmt::format("{}.packed{}{}", source.name, width, tb ? "t" : "");
      packed.type = TensorType{DType::F32, {panelCount(n, width), k, width}};
      packed.attrs[attr::key::packedFrom] = source.name;
      packed.attrs[attr::key::panelWidth] = width;
      if (tb) packed.attrs[attr::key::transpose] = int64_t(1);
      it->second = g.add(std::move(packed));
    }
    Node& n = g.node(p);
    n.op = OpKind::PackedMatMul;
    n.operands[1] = it->second;
    n.attrs.erase(attr::key::transposeB);
    n.attrs[attr::key::n] = n.type.shape[1];
  }
  if (products.empty()) return false;
  // The params now read only in packed form leave the signature.
  std::vector<int> uses = g.useCounts();
  std::vector<bool> keep(g.size(), true);
  for (const auto& [key, packed] : packedParams)
    if (uses[size_t(key.first)] == 0) keep[size_t(key.first)] = false;
  for (const auto& u : g.updates) keep[size_t(u.target)] = true;
  g.compact(keep);
  g.topologicalSort();
  return true;
}

}  // namespace graphc
