// graph/Analysis.h — facts computed from a graph: FLOPs and kernel counts.
#pragma once

#include <cstdint>

#include "graph/Graph.h"

namespace graphc {

// Floating-point operations one run performs: 2*M*N*K per matmul, one per
// element per elementwise op (inside fused kernels too), one per input
// element for reductions, and a handful per element for softmax ops.
int64_t estimateFlops(const Graph& g);

// Nodes that do work at run time (everything but inputs, params and state).
int64_t countKernels(const Graph& g);

}  // namespace graphc
