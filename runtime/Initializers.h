// runtime/Initializers.h — fresh values for a graph's params and state.
#pragma once

#include "graph/Graph.h"
#include "runtime/Random.h"
#include "graph/eval/Tensor.h"

namespace graphc {

// Draws every param from its initializer attributes (init, scale), in graph
// order, so the same seed gives the same parameters.
TensorMap initializeParams(const Graph& g, Rng& rng);

// Zeros for every state node of the graph (model state and optimizer state).
TensorMap zeroState(const Graph& g);

// Fills t per the initializer kind: zeros, ones, normal(std=scale),
// uniform(+-scale), truncated_normal(std=scale, cut at 2 std),
// lecun_normal (truncated, variance 1/fan_in), orthogonal(gain=scale).
void initialize(Tensor& t, const std::string& kind, double scale, Rng& rng);

}  // namespace graphc
