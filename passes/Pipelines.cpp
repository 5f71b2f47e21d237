// passes/Pipelines.cpp — pipeline strings with their pass options.
#include "passes/Pipelines.h"

#include <fmt/format.h>

namespace graphc {

std::string trainStepPass(const OptimizerConfig& c) {
  std::string options = fmt::format("optimizer={},lr={},clip={}", c.kind, c.learningRate, c.clipNorm);
  if (c.kind == "momentum") options += fmt::format(",momentum={}", c.momentum);
  if (c.kind == "adam") options += fmt::format(",beta1={},beta2={},epsilon={}", c.beta1, c.beta2, c.epsilon);
  return "train-step{" + options + "}";
}

std::string lowerPipeline(int64_t panelWidth) {
  return fmt::format("pack-weights{{panel-width={}}},share-concats,fuse,plan", panelWidth);
}

}  // namespace graphc
