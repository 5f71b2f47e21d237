// graph/Verifier.h — the IR's invariants, checked after parsing and after every pass.
#pragma once

#include "graph/Graph.h"

namespace graphc {

// Checks arity, SSA order, unique names, every node's type against its op's
// type rule, outputs and updates. Throws graphc::Error naming the value and
// its source position.
void verify(const Graph& g);

}  // namespace graphc
