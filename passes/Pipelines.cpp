// passes/Pipelines.cpp — pipeline strings with their pass options.
#include "passes/Pipelines.h"

#include <fmt/format.h>
#include <limits>

#include "graph/Error.h"
#include "passes/Passes.h"

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

std::string optimizePipeline(int64_t fuseLossMinBytes) {
  return fmt::format("simplify,fuse-linear-cross-entropy{{min-bytes={}}},onehot-gather,batch-matmul,simplify,"
                     "merge-products,simplify",
                     fuseLossMinBytes);
}

int64_t fusedLossMinBytes(const std::string& choice) {
  if (choice == "auto") return kFuseLinearCrossEntropyMinBytes;
  if (choice == "on") return 0;
  if (choice == "off") return std::numeric_limits<int64_t>::max();
  throw Error(fmt::format("--fused-loss {}: must be auto, on or off", choice));
}

std::string lowerPipeline(int64_t panelWidth) {
  return fmt::format("pack-weights{{panel-width={}}},share-concats,fuse,plan", panelWidth);
}

}  // namespace graphc
