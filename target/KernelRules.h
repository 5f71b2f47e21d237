// target/KernelRules.h — what the code generator can make of a graph, checked
// on the graph: every member of a fused body is one a kernel can compute
// (target/Fusability.h), and every {epilogue = 1} kernel really is its
// product's epilogue. graph/Verifier.h checks the IR's own invariants (types,
// SSA, a fused body's inputs and result); these are the backend's, as XLA
// keeps fusion legality with its backends rather than in the HLO verifier.
// The pass manager checks both after every pass; `graphc opt` and `compile`
// after reading IR.
#pragma once

#include "graph/Graph.h"

namespace graphc {

// Throws graphc::Error naming the node and its source position.
void verifyKernelRules(const Graph& g);

}  // namespace graphc
