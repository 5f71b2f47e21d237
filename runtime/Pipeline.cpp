// runtime/Pipeline.cpp — the stages in order.
#include "runtime/Pipeline.h"

#include "graph/Verifier.h"
#include "passes/Pipelines.h"

namespace graphc {

std::string optimizePassesFor(const PipelineConfig& c) {
  std::string passes = kOptimizePipeline;
  return c.trainingStep ? trainStepPass(c.optimizer) + "," + passes : passes;
}

std::string lowerPassesFor(const Target& target) { return lowerPipeline(target.panelWidth()); }

std::string fullPipelineFor(const PipelineConfig& c) {
  return optimizePassesFor(c) + "," + lowerPassesFor(c.target);
}

Graph optimizeGraph(Graph forward, const PipelineConfig& c, const PassManagerOptions& options) {
  validate(c.optimizer);
  verify(forward);
  PassManager pm(options);
  pm.addPipeline(optimizePassesFor(c));
  pm.run(forward);
  return forward;
}

Graph lowerGraph(Graph optimized, const Target& target, const PassManagerOptions& options) {
  PassManager pm(options);
  pm.addPipeline(lowerPassesFor(target));
  pm.run(optimized);
  return optimized;
}

}  // namespace graphc
