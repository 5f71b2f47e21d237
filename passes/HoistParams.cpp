// passes/HoistParams.cpp — what a program computes from its params alone
// moves out of its step, into a graph run once when the params are set:
//
//   %w = concat(%w_i, %w_f, %w_g, %w_o) {axis = 1}      %w = param "prepared.w"
//   %z = matmul(%h, %w)                            ==>  %z = matmul(%h, %w)
//
// merge-products and batch-matmul concatenate weights so that one product
// does the work of four; in a training step that copy is paid once per
// minibatch, but a generation program runs its step once per token, and for a
// 2 x 512 LSTM the concatenations are 20 MB per token. Only data movement is
// hoisted (concat, slice, transpose, reshape, pad: exact, so the prepared
// values are the bits the step would have made), and only from params that
// the program does not update. A slice or reshape of a param itself is a view
// that costs nothing and stays.
#include <fmt/format.h>

#include "passes/Passes.h"

namespace graphc {
namespace {

bool isMovement(OpKind k) {
  return k == OpKind::Concat || k == OpKind::Slice || k == OpKind::Transpose || k == OpKind::Reshape ||
         k == OpKind::Pad;
}

// Whether each value is a fixed param (one the graph does not update) or
// movement of such values only.
std::vector<bool> fromFixedParams(const Graph& g) {
  std::vector<bool> updated(g.size(), false);
  for (const StateUpdate& u : g.updates) updated[size_t(u.target)] = true;
  std::vector<bool> fromParams(g.size(), false);
  for (size_t i = 0; i < g.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op == OpKind::Param) fromParams[i] = !updated[i];
    else if (isMovement(n.op))
      fromParams[i] = std::all_of(n.operands.begin(), n.operands.end(), [&](ValueId o) { return fromParams[size_t(o)]; });
  }
  return fromParams;
}

}  // namespace

int64_t paramCopyBytes(const Graph& g) {
  std::vector<bool> fromParams = fromFixedParams(g);
  int64_t bytes = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    OpKind k = g.nodes[i].op;
    if (fromParams[i] && (k == OpKind::Concat || k == OpKind::Transpose || k == OpKind::Pad))
      bytes += g.nodes[i].type.numElements() * 4;  // f32 and i32 alike
  }
  return bytes;
}

Graph hoistParamExpressions(Graph& g) {
  std::vector<bool> fromParams = fromFixedParams(g);
  // The step reads these: computed from params, used by a node that is not (or an output).
  std::vector<bool> read(g.size(), false);
  auto noteUse = [&](ValueId v) {
    const Node& n = g.node(v);
    bool freeView = (n.op == OpKind::Slice || n.op == OpKind::Reshape) && g.node(n.operands[0]).op == OpKind::Param;
    if (fromParams[size_t(v)] && n.op != OpKind::Param && !freeView) read[size_t(v)] = true;
  };
  for (size_t i = 0; i < g.size(); ++i)
    if (!fromParams[i])
      for (ValueId o : g.nodes[i].operands) noteUse(o);
  for (const GraphOutput& o : g.outputs) noteUse(o.value);
  for (const StateUpdate& u : g.updates) noteUse(u.value);

  Graph prepare;
  prepare.name = g.name + ".prepare";
  prepare.sourceName = g.sourceName;
  std::vector<ValueId> copyOf(g.size(), -1);
  for (size_t i = 0; i < g.size(); ++i)
    if (fromParams[i]) {
      Node n = g.nodes[i];
      for (ValueId& o : n.operands) o = copyOf[size_t(o)];
      copyOf[i] = prepare.add(std::move(n));
    }
  std::vector<std::pair<ValueId, ValueId>> replacements;
  for (size_t i = 0; i < g.size(); ++i) {
    if (!read[i]) continue;
    Node param;
    param.op = OpKind::Param;
    param.name = "prepared." + g.nodes[i].name;
    param.type = g.nodes[i].type;
    prepare.setOutput(param.name, copyOf[i]);
    replacements.emplace_back(ValueId(i), g.add(std::move(param)));
  }
  if (replacements.empty()) return prepare;
  g.replaceUses(replacements);
  // The movement is now the prepare graph's; params read only through it leave the signature.
  std::vector<int> uses = g.useCounts();
  std::vector<bool> keep(g.size(), true);
  for (size_t i = g.size(); i-- > 0;) {
    if (!fromParams[i] || uses[i] > 0) continue;
    keep[i] = false;
    for (ValueId o : g.nodes[i].operands) --uses[size_t(o)];
  }
  g.compact(keep);
  g.topologicalSort();
  eliminateDeadCode(prepare);
  return prepare;
}

bool hoistParams(Graph& g) { return !hoistParamExpressions(g).outputs.empty(); }

}  // namespace graphc
