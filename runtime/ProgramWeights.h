// runtime/ProgramWeights.h — what a generation program is built from, the
// same for `graphc generate` and `graphc export`: the lowered step graph, the
// vocabulary's tables, and the bytes its params hold (a param of the lowered
// graph is a model param or, after pack-params, one packed into panels;
// attribute packed_from names its source).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "codegen/GenerationProgram.h"
#include "models/ModelInterface.h"
#include "runtime/Corpus.h"
#include <functional>

#include "driver/Pipeline.h"
#include "graph/eval/Tensor.h"

namespace graphc {

// The vocabulary as the program reads it (ProgramTables without weights).
ProgramTables programTablesFor(const Vocab& vocab);

// One entry per param of the lowered step, from the model's params by name
// (a prepared param from the prepare graph run on them, a packed one packed).
// Throws naming a param that is missing or has another shape.
std::map<std::string, std::vector<char>> programWeights(const GenerationGraphs& graphs, const TensorMap& params);

// The same, each written straight where `place(name, bytes)` says (a
// program's arena): no copy of the weights on the way.
void writeProgramWeights(const GenerationGraphs& graphs, const TensorMap& params,
                         const std::function<char*(const std::string& name, size_t bytes)>& place);

}  // namespace graphc
