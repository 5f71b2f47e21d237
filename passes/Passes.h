// passes/Passes.h — the graph transformations, as plain functions.
// Each returns whether it changed the graph; the registry wraps them as Passes.
#pragma once

#include <algorithm>

#include "graph/Graph.h"

namespace graphc {

bool eliminateDeadCode(Graph& g);              // DCE.cpp
// A fusion's ending: every `from` read as its `to`, the order restored, what
// is left unread removed. False (and nothing done) when the list is empty.
bool replaceUsesAndPrune(Graph& g, const std::vector<std::pair<ValueId, ValueId>>& fromTo);  // DCE.cpp
bool eliminateCommonSubexpressions(Graph& g);  // CSE.cpp
bool foldConstants(Graph& g);                  // Fold.cpp
bool batchMatmulSums(Graph& g);                // BatchMatmul.cpp
bool oneHotProductsToGathers(Graph& g);        // OnehotGather.cpp
bool fuseAttention(Graph& g);                  // FuseAttention.cpp
// The output layer and its loss (and their gradient) as linear_cross_entropy_train
// (or the linear_cross_entropy pair), when the logits take at least minBytes.
inline constexpr int64_t kFuseLinearCrossEntropyMinBytes = int64_t(8) << 20;
bool fuseLinearCrossEntropy(Graph& g, int64_t minBytes);  // FuseLinearCrossEntropy.cpp
bool mergeProductsSharingLhs(Graph& g);        // MergeProducts.cpp
bool interchangeConcatGrids(Graph& g);         // ConcatGrid.cpp
bool simplify(Graph& g);                       // Simplify.cpp: fold, cse, dce to a fixed point
// Panels of `panelWidth` columns: the target's product micro-kernel width.
bool packSharedRightOperands(Graph& g, int64_t panelWidth);  // PackWeights.cpp
bool packParamOperands(Graph& g, int64_t panelWidth);        // PackWeights.cpp
bool shareConcatWindows(Graph& g);             // ShareConcats.cpp
// For programs whose params are fixed while they run: movement computed from
// params alone becomes new params ("prepared.NAME"); returns the graph that
// computes them from the params (its outputs are named as the new params).
Graph hoistParamExpressions(Graph& g);         // HoistParams.cpp
bool hoistParams(Graph& g);                    // the same, the prepare graph dropped (for `graphc opt`)
// Bytes a run of g copies out of fixed params (concat, transpose, pad of them): 0 after hoisting.
int64_t paramCopyBytes(const Graph& g);        // HoistParams.cpp

}  // namespace graphc
