// passes/MergeProducts.cpp — products that share their left operand become
// one wider product, sliced back apart:  A W_1, ..., A W_n  ==  A [W_1 ... W_n].
//
// A GRU or LSTM step multiplies the same [x, h] by one weight per gate;
// merged, it is one 4x wider product that runs closer to the machine's peak
// and splits evenly across threads. A product already wide enough to fill
// the machine is left alone: merging it gains nothing and copies its right
// operand and its result (a word model's 18k-column output-layer gradient).
#include <algorithm>
#include <map>
#include <tuple>

#include "graph/Analysis.h"
#include "graph/Builder.h"
#include "passes/Passes.h"

namespace graphc {
namespace {

// Whether `v` depends on any node marked in `members` (searching only nodes
// at or after `lowest`, the earliest member).
bool dependsOnAny(const Graph& g, ValueId v, const std::vector<bool>& members, ValueId lowest,
                  std::vector<char>& visited) {
  if (v < lowest || visited[size_t(v)]) return false;
  visited[size_t(v)] = 1;
  if (members[size_t(v)]) return true;
  for (ValueId o : g.node(v).operands)
    if (dependsOnAny(g, o, members, lowest, visited)) return true;
  return false;
}

// Columns beyond which a product runs at the peak alone.
constexpr int64_t kWideProductColumns = 2048;

}  // namespace

bool mergeProductsSharingLhs(Graph& g) {
  // (lhs, transpose_a, transpose_b) -> products, in program order.
  std::map<std::tuple<ValueId, int64_t, int64_t>, std::vector<ValueId>> groups;
  for (size_t i = 0; i < g.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!isMatrixProduct(n) || n.type.shape[1] > kWideProductColumns) continue;
    groups[{n.operands[0], int64_t(attr::transposeA(n.attrs)), int64_t(attr::transposeB(n.attrs))}].push_back(ValueId(i));
  }
  bool changed = false;
  for (auto& [key, products] : groups) {
    if (products.size() < 2) continue;
    auto [lhs, ta, tb] = key;
    // A right operand computed from one of the products would make a cycle.
    std::vector<bool> members(g.size(), false);
    for (ValueId p : products) members[size_t(p)] = true;
    bool independent = true;
    for (ValueId p : products) {
      std::vector<char> visited(g.size(), 0);
      independent &= !dependsOnAny(g, g.node(p).operands[1], members, products.front(), visited);
    }
    if (!independent) continue;
    Builder b(g);
    Builder::Group layer(b, commonLayer(g, products));  // drawn in the layer its parts were
    std::vector<Value> rights;
    for (ValueId p : products) rights.push_back(b.wrap(g.node(p).operands[1]));
    Value merged = matmul(b.wrap(lhs), concat(rights, tb ? 0 : 1), ta != 0, tb != 0);
    int64_t rows = merged.dim(0), offset = 0;
    for (ValueId p : products) {
      int64_t width = g.type(p).shape[1];
      Value part = slice(merged, {0, offset}, {rows, offset + width});
      offset += width;
      g.replaceAllUses(p, part.id());
    }
    changed = true;
  }
  if (changed) {
    g.topologicalSort();  // the merged product goes before the first user of any slice
    eliminateDeadCode(g);
  }
  return changed;
}

}  // namespace graphc
