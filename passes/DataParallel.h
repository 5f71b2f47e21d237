// passes/DataParallel.h — data parallelism as a rewrite of the gradients: run
// after `autodiff` and before `train-step`, which then clips and updates with
// the gradients averaged over every process.
#pragma once

#include <cstdint>

#include "graph/Graph.h"

namespace graphc {

// Replaces every output grad.<param> and the output "loss" by their means
// over `ranks` processes: all flattened into one buffer, one all_reduce (a
// sum over the processes), divided by ranks, cut back into their shapes. ranks == 1 changes nothing. Throws when the
// graph has no grad.<param> outputs (autodiff has not run) or no "loss".
bool averageGradientsOverRanks(Graph& g, int64_t ranks);

}  // namespace graphc
