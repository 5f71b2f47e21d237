// graph/Dot.h — a graph as a Graphviz picture (`graphc compile --emit dot`,
// `graphc opt --emit dot`, and --print-after with either): one box per op,
// edges labelled with the shapes they carry, params, state, inputs and
// outputs coloured, params and state boxed by layer (the first part of their
// scoped names), fused kernels as clusters showing their bodies,
// epilogues and packed products marked. Render with `dot -Tsvg`.
#pragma once

#include <string>

#include "graph/Graph.h"

namespace graphc {

struct DotOptions {
  // Runs of repeated structure (the time steps an unrolled graph repeats)
  // are drawn once, in a box saying how many times they repeat; edges into
  // the next repetition are drawn dashed, back into the one shown.
  // On by default: an unrolled training step has thousands of nodes.
  bool collapseRepeats = true;
};

std::string printDot(const Graph& g, const DotOptions& options = {});

}  // namespace graphc
