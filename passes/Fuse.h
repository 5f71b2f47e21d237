// passes/Fuse.h — elementwise fusion: chains of elementwise ops, with
// broadcasts and constants at their edge, become one `fused` node.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "graph/Graph.h"

namespace graphc {

struct FusionOptions {
  size_t maxOpsPerKernel = 96;
  // Absorbing a producer runs it at the kernel's position, so its inputs must
  // stay alive until then. Refuse when that stretches an input's life past its
  // last reader by more than this many nodes (a gradient sum over T steps
  // would otherwise keep all T products alive at once). What counts is the
  // stretch, not how far the producer sits from the kernel: autodiff places an
  // LSTM cell's backward pieces 10-20 nodes before their reader, over values
  // that stay alive until then anyway.
  int64_t maxLiveRangeExtension = 32;
};

// Why `producer` cannot join a kernel whose members are marked in `inGroup`
// and whose output shape is `shape`; nullopt when it can. `users` lists each
// node's users (node indices; -1 for an output or update); `root` is the
// kernel's position.
std::optional<std::string> fusionRefusal(const Graph& g, ValueId producer, ValueId root, const Shape& shape,
                                         const std::vector<bool>& inGroup, const std::vector<std::vector<ValueId>>& users,
                                         size_t groupSize, const FusionOptions& options = {});

// Constants and broadcasts are copied into every kernel that reads them.
// Rewrites every elementwise op into a fused kernel (greedy, from the last
// node backwards, absorbing producers the predicate accepts). Returns whether
// the graph changed. `refusals` (optional) collects "%producer -> %root: why".
bool fuseElementwise(Graph& g, const FusionOptions& options = {}, std::vector<std::string>* refusals = nullptr);

// Moves whatever runs between a packed product and the fused kernel that is
// its only reader to before the product, so codegen can run the kernel as
// the product's epilogue (a step's input gather otherwise sits in between).
void scheduleEpilogues(Graph& g);

}  // namespace graphc
