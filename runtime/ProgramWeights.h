// runtime/ProgramWeights.h — the bytes a generation program's params hold:
// a param of the lowered step graph is either a model param or, after
// pack-params, one packed into panels (attribute packed_from names its source).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/Graph.h"
#include "runtime/Tensor.h"

namespace graphc {

// One entry per param of `lowered`, from the model's params by name. Throws
// naming a param that is missing or has another shape.
std::map<std::string, std::vector<char>> programWeights(const Graph& lowered, const TensorMap& params);

}  // namespace graphc
