// passes/DCE.cpp — removes nodes no output or update depends on.
// Inputs, params and state are the graph's signature and always stay, as do
// effects (kEffect: collectives).
#include "passes/Passes.h"

namespace graphc {

bool eliminateDeadCode(Graph& g) {
  std::vector<bool> live(g.size(), false);
  for (const auto& o : g.outputs) live[size_t(o.value)] = true;
  for (const auto& u : g.updates) live[size_t(u.value)] = live[size_t(u.target)] = true;
  for (size_t i = g.size(); i-- > 0;) {
    const Node& n = g.nodes[i];
    // The signature stays, and so does every effect (a collective all processes must run).
    if (isSignature(n.op) || hasTrait(n.op, kEffect)) live[i] = true;
    if (!live[i]) continue;
    for (ValueId o : n.operands) live[size_t(o)] = true;
  }
  if (std::all_of(live.begin(), live.end(), [](bool b) { return b; })) return false;
  g.compact(live);
  return true;
}

bool replaceUsesAndPrune(Graph& g, const std::vector<std::pair<ValueId, ValueId>>& fromTo) {
  if (fromTo.empty()) return false;
  g.replaceUses(fromTo);
  g.topologicalSort();
  eliminateDeadCode(g);
  return true;
}

}  // namespace graphc
