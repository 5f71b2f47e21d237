// graph/eval/Evaluate.h — the reference evaluator: what each op of
// graph/Op.def computes, on Tensors.
//
// It is the one statement of an op's meaning: the interpreter
// (runtime/Interpreter) walks graphs with it, constant folding
// (passes/ConstantFold) folds with it, and the JIT is checked against it. So it
// is simple and exact: plain loops, sums accumulated in double, matrix
// products through Eigen, elementwise functions as graph/Unary.def spells them.
#pragma once

#include <vector>

#include "graph/Graph.h"
#include "graph/eval/Tensor.h"

namespace graphc {

// The value of node n given its operands' values. Leaves are bound by whoever
// walks the graph, and all_reduce talks to other processes: both are refused.
Tensor evaluateNode(const Node& n, const std::vector<const Tensor*>& operands);

// A fused kernel's body (inputs bound to `operands` in order) -> its result.
Tensor evaluateBody(const Graph& body, const std::vector<const Tensor*>& operands);

}  // namespace graphc
