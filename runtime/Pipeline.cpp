// runtime/Pipeline.cpp — the stages in order.
#include "runtime/Pipeline.h"

#include <fmt/format.h>

#include "graph/Verifier.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"

namespace graphc {

std::string optimizePassesFor(const PipelineConfig& c) {
  std::string passes = optimizePipeline(c.fuseLossMinBytes), before = kBeforeAutodiffPipeline;
  if (!c.trainingStep) return before + "," + passes;
  std::string step = trainStepPass(c.optimizer);
  if (c.ranks > 1) step = fmt::format("autodiff,data-parallel{{ranks={}}},{}", c.ranks, step);
  return before + "," + step + "," + passes;
}

std::string lowerPassesFor(const Target& target) { return lowerPipeline(target.panelWidth()); }

std::string generationLowerPassesFor(const Target& target, int64_t batch) {
  // Fewer rows than the product tile leaves accumulators idle; four vectors
  // across instead of two keep four FMA chains in flight per row (batch 1:
  // a matrix-vector product, latency-bound with two).
  int64_t width = batch < target.tile.rows ? 4 * target.lanes() : target.panelWidth();
  return fmt::format("pack-params{{panel-width={}}},share-concats,fuse,plan", width);
}

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

GenerationGraphs lowerGenerationGraph(Graph optimized, const Target& target, int64_t batch) {
  Graph prepare = hoistParamExpressions(optimized);
  PassManager pm;
  pm.addPipeline(generationLowerPassesFor(target, batch));
  pm.run(optimized);
  return {std::move(optimized), std::move(prepare)};
}

Graph lowerGraph(Graph optimized, const Target& target, const PassManagerOptions& options) {
  PassManager pm(options);
  pm.addPipeline(lowerPassesFor(target));
  pm.run(optimized);
  return optimized;
}

}  // namespace graphc
