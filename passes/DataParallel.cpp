// passes/DataParallel.cpp — see DataParallel.h.
#include "passes/DataParallel.h"

#include <fmt/format.h>

#include "graph/Builder.h"

namespace graphc {

bool averageGradientsOverRanks(Graph& g, int64_t ranks) {
  if (ranks < 1 || ranks > (1 << 20)) throw Error(fmt::format("pass 'data-parallel': ranks must be in 1..1048576, got {}", ranks));
  std::vector<std::string> names;
  for (ValueId p : g.nodesOf(OpKind::Param))
    if (g.findOutput("grad." + g.node(p).name) >= 0) names.push_back("grad." + g.node(p).name);
  if (names.empty())
    throw Error(fmt::format("pass 'data-parallel': graph @{} has no grad.<param> outputs (run autodiff first)", g.name));
  ValueId loss = g.output("loss");
  if (ranks == 1) return false;

  Builder b(g);
  std::vector<Value> flat;
  for (const auto& name : names) {
    Value gr = b.wrap(g.output(name));
    flat.push_back(reshape(gr, {gr.type().numElements()}));
  }
  flat.push_back(reshape(b.wrap(loss), {1}));
  // One collective for the gradients and the loss: one latency per step, not one per tensor.
  Value mean = allReduce(concat(flat, 0)) * (1.0 / double(ranks));
  int64_t at = 0;
  for (const auto& name : names) {
    const TensorType& type = g.type(g.output(name));
    int64_t n = type.numElements();
    Shape shape = type.shape;
    g.setOutput(name, reshape(slice(mean, {at}, {at + n}), shape).id());
    at += n;
  }
  g.setOutput("loss", reshape(slice(mean, {at}, {at + 1}), {}).id());
  return true;
}

}  // namespace graphc
