// passes/DataParallel.h — data parallelism as a rewrite of the gradients: run
// after `autodiff` and before `train-step`, which then clips and updates with
// the gradients averaged over every process.
#pragma once

#include <cstdint>

#include "graph/Graph.h"

namespace graphc {

// Replaces every output grad.<param> by its mean over `ranks` processes: all
// gradients flattened into one buffer, one all_reduce (a sum over the
// processes), divided by ranks, cut back into their shapes. Output "loss"
// becomes its mean the same way. ranks == 1 changes nothing. Throws when the
// graph has no grad.<param> outputs (autodiff has not run) or no "loss".
bool averageGradientsOverRanks(Graph& g, int64_t ranks);

}  // namespace graphc
