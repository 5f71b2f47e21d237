// passes/PassList.h — every pass as an object with typed options, and a
// pipeline as a list of them. driver/Pipeline.cpp builds its pipelines from
// these calls; a pipeline string ("simplify,pack-weights{panel-width=32}",
// `graphc opt --passes`) is parsed by the registry into the same objects, and
// a list prints back to that string (pipelineText), so what `graphc compile`
// shows is what runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "passes/Pass.h"
#include "passes/TrainStep.h"

namespace graphc {

using PassList = std::vector<std::unique_ptr<Pass>>;

// A pass without options, by its name ("dce", "simplify", "fuse", ...); throws
// naming an unknown one, or one that takes options (those have a function below).
std::unique_ptr<Pass> plainPass(const std::string& name);

std::unique_ptr<Pass> dataParallelPass(int64_t ranks);
std::unique_ptr<Pass> trainStepPass(const OptimizerConfig& optimizer);
// The output layer's fusion for logits of at least minBytes (0: always).
std::unique_ptr<Pass> fuseLinearCrossEntropyPass(int64_t minBytes);
// fuse, with epilogue chains (1) or at most one kernel per product as wide as it (0).
std::unique_ptr<Pass> fusePass(int64_t epilogueChains = 1);
std::unique_ptr<Pass> packWeightsPass(int64_t panelWidth);
std::unique_ptr<Pass> packParamsPass(int64_t panelWidth);

// "a,b{k=v},c": each pass's name with its options, as a pipeline string reads.
std::string pipelineText(const PassList& passes);

}  // namespace graphc
