// passes/CSE.cpp — merges nodes that compute the same thing: same op, operands
// (in any order for commutative ops), attributes and type. The first one wins.
#include <fmt/format.h>
#include <unordered_map>

#include "graph/TextIR.h"
#include "passes/Passes.h"

namespace graphc {

bool eliminateCommonSubexpressions(Graph& g) {
  std::vector<ValueId> remap(g.size());
  std::unordered_map<std::string, ValueId> seen;
  bool changed = false;
  for (size_t i = 0; i < g.size(); ++i) {
    Node& n = g.nodes[i];
    remap[i] = ValueId(i);
    for (ValueId& o : n.operands) o = remap[size_t(o)];
    if (!hasTrait(n.op, kPure)) continue;
    std::vector<ValueId> key_operands = n.operands;
    if (hasTrait(n.op, kCommutative)) std::sort(key_operands.begin(), key_operands.end());
    std::string key = fmt::format("{}({}){}", opName(n.op), fmt::join(key_operands, ","), str(n.type));
    for (const auto& [k, v] : n.attrs) key += fmt::format("|{}={}", k, attrToString(v));
    if (n.body) key += "|" + printGraph(*n.body);
    auto [it, fresh] = seen.emplace(key, ValueId(i));
    if (!fresh) {
      remap[i] = it->second;
      changed = true;
    }
  }
  if (!changed) return false;
  for (auto& o : g.outputs) o.value = remap[size_t(o.value)];
  for (auto& u : g.updates) u.value = remap[size_t(u.value)];
  std::vector<bool> keep(g.size());
  for (size_t i = 0; i < g.size(); ++i) keep[i] = remap[i] == ValueId(i);
  g.compact(keep);
  return true;
}

}  // namespace graphc
