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
  // Off: a product's epilogue is at most one kernel as wide as the product
  // (the rule before chains; pass option fuse{epilogue-chains=0}, to compare).
  bool epilogueChains = true;
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

// Forms each packed product's epilogue chain (target/Fusability.h): the fused
// kernels after it that can run inside it move right after it and are marked
// {epilogue = 1}; what ran in between without reading the product or the
// chain moves before the product (a step's input gather), what reads them
// otherwise stays after the chain. An LSTM step's four gate kernels and its
// cell (c, tanh c, h) run inside its [B, 4H] product, a hidden unit's panels
// of the four gates at a time; going back, the cell's gradient runs inside
// the product that makes dh.
void scheduleEpilogues(Graph& g, bool chains = true);

}  // namespace graphc
