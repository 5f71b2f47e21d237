// runtime/Interpreter.h — the reference interpreter: runs any verified graph,
// node by node, with the reference evaluator (graph/eval/Evaluate.h). It is the
// oracle the JIT is checked against.
#pragma once

#include "graph/Graph.h"
#include "runtime/Engine.h"
#include "graph/eval/Evaluate.h"
#include "graph/eval/Tensor.h"

namespace graphc {

class Interpreter : public Engine {
 public:
  explicit Interpreter(const Graph& g);

  // Runs the graph. `vars` binds every input, param and state by name; after
  // the run, the graph's updates are written back into `vars`. Returns the
  // named outputs.
  TensorMap run(TensorMap& vars) override;

 private:
  const Graph& g_;
  std::vector<size_t> lastUse_;  // index of the last node reading each value
};

}  // namespace graphc
