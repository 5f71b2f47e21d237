// passes/Autodiff.h — reverse-mode differentiation as a graph transformation.
//
// The backward graph is ordinary IR built from primitive ops (one rule per op
// in Autodiff.cpp), so every later pass sees and optimizes it.
#pragma once

#include <vector>

#include "graph/Graph.h"

namespace graphc {

// Appends the gradient of the scalar f32 `loss` with respect to each value in
// `wrt` and returns their ids, in order. A value the loss does not depend on
// gets a zero constant. Throws if loss is not an f32 scalar or a wrt is not f32.
std::vector<ValueId> appendGradients(Graph& g, ValueId loss, const std::vector<ValueId>& wrt);

// The pass behind "autodiff": differentiates output "loss" with respect to
// every param and adds the outputs "grad.<param>".
bool differentiateLoss(Graph& g);

}  // namespace graphc
