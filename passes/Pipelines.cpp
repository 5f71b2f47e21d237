// passes/Pipelines.cpp — pipeline strings with their pass options.
#include "passes/Pipelines.h"

#include <fmt/format.h>

namespace graphc {

std::string trainStepPass(const OptimizerConfig& c) {
  std::string options = fmt::format("optimizer={},lr={},clip={}", c.kind, c.learningRate, c.clipNorm);
  if (c.kind == "momentum") options += fmt::format(",momentum={}", c.momentum);
  if (c.kind == "adam" || c.kind == "adamw")
    options += fmt::format(",beta1={},beta2={},epsilon={}", c.beta1, c.beta2, c.epsilon);
  if (c.weightDecay > 0) options += fmt::format(",weight-decay={}", c.weightDecay);
  if (c.learningRateInput) options += ",lr-input=1";
  return "train-step{" + options + "}";
}

std::string lowerPipeline(int64_t panelWidth) {
  return fmt::format("pack-weights{{panel-width={}}},share-concats,fuse,plan", panelWidth);
}

}  // namespace graphc
