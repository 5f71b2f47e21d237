// runtime/Interpreter.cpp — walks a graph with the reference evaluator
// (graph/eval), freeing each value after its last use.
#include "runtime/Interpreter.h"

#include <fmt/format.h>

#include "codegen/Collectives.h"
#include "graph/eval/Evaluate.h"

namespace graphc {
namespace {

// The one op the evaluator leaves to the runtime: it talks to the other processes.
Tensor allReduce(const Tensor& x) {
  Tensor out = x;
  allReduceSum(out.f32(), out.size());
  return out;
}

}  // namespace

Interpreter::Interpreter(const Graph& g) : g_(g), lastUse_(g.size(), 0) {
  for (size_t i = 0; i < g.size(); ++i)
    for (ValueId o : g.nodes[i].operands) lastUse_[size_t(o)] = i;
  // Values read by outputs or updates live to the end.
  for (const auto& o : g.outputs) lastUse_[size_t(o.value)] = g.size();
  for (const auto& u : g.updates) lastUse_[size_t(u.value)] = g.size();
}

TensorMap Interpreter::run(TensorMap& vars) {
  std::vector<Tensor> values(g_.size());
  std::vector<const Tensor*> ptrs(g_.size(), nullptr);
  for (size_t i = 0; i < g_.size(); ++i) {
    const Node& n = g_.nodes[i];
    if (isSignature(n.op)) {
      auto it = vars.find(n.name);
      if (it == vars.end()) throw Error(fmt::format("no value bound for {} %{}", opName(n.op), n.name));
      if (it->second.type() != n.type)
        throw Error(fmt::format("{} %{} expects {}, got {}", opName(n.op), n.name, str(n.type),
                                str(it->second.type())));
      ptrs[i] = &it->second;
      continue;
    }
    std::vector<const Tensor*> in;
    for (ValueId o : n.operands) in.push_back(ptrs[size_t(o)]);
    values[i] = n.op == OpKind::AllReduce ? allReduce(*in[0]) : evaluateNode(n, in);
    ptrs[i] = &values[i];
    for (ValueId o : n.operands)
      if (lastUse_[size_t(o)] == i) values[size_t(o)] = Tensor();  // free early; leaves stay bound
  }
  TensorMap outputs;
  for (const auto& o : g_.outputs) outputs[o.name] = *ptrs[size_t(o.value)];
  // Read every update before writing any: an update may read another's target.
  std::vector<std::pair<std::string, Tensor>> pending;
  for (const auto& u : g_.updates) pending.emplace_back(g_.node(u.target).name, *ptrs[size_t(u.value)]);
  for (auto& [name, t] : pending) vars[name] = std::move(t);
  return outputs;
}

}  // namespace graphc
