// runtime/Interpreter.h — the reference interpreter: runs any verified graph.
//
// It is the oracle the JIT is checked against, so it is simple and exact:
// plain loops, sums accumulated in double, matrix products through Eigen.
#pragma once

#include "graph/Graph.h"
#include "runtime/Engine.h"
#include "runtime/Tensor.h"

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

// Evaluates one node given its operand values (exposed for tests).
Tensor evaluateNode(const Node& n, const std::vector<const Tensor*>& operands);

}  // namespace graphc
