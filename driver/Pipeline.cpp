// driver/Pipeline.cpp — the stages in order, every pipeline on one screen.
#include "driver/Pipeline.h"

#include <fmt/format.h>
#include <limits>

#include "graph/TextIR.h"
#include "graph/Verifier.h"
#include "target/KernelRules.h"

namespace graphc {
namespace {

// After autodiff: fold, CSE and DCE to a fixed point; a large output layer and
// its loss stop holding their logits; one-hot products become row gathers;
// BPTT's per-step weight-gradient products merge into single large ones; then
// products sharing a left operand (a GRU/LSTM step's gates) merge into wider ones,
// and the gate-by-step grid of gradients they concatenate is laid out by steps.
void addOptimizations(PassList& p, int64_t fuseLossMinBytes) {
  p.push_back(plainPass("simplify"));
  p.push_back(fuseLinearCrossEntropyPass(fuseLossMinBytes));
  p.push_back(plainPass("onehot-gather"));
  p.push_back(plainPass("batch-matmul"));
  p.push_back(plainPass("simplify"));
  p.push_back(plainPass("merge-products"));
  p.push_back(plainPass("concat-grid"));
  p.push_back(plainPass("simplify"));
}

// Before code generation: the weights packed (each product's right operand
// once per step, or each param once per program), overlapping concatenations
// shared, elementwise fusion, then arena offsets (views, in-place concatenation).
void addLowering(PassList& p, std::unique_ptr<Pass> packing) {
  p.push_back(std::move(packing));
  p.push_back(plainPass("share-concats"));
  p.push_back(fusePass());
  p.push_back(plainPass("plan"));
}

}  // namespace

int64_t fusedLossMinBytes(const std::string& choice) {
  if (choice == "auto") return kFuseLinearCrossEntropyMinBytes;
  if (choice == "on") return 0;
  if (choice == "off") return std::numeric_limits<int64_t>::max();
  throw Error(fmt::format("--fused-loss {}: must be auto, on or off", choice));
}

PassList optimizePasses(const PipelineConfig& c) {
  PassList p;
  // Before autodiff: softmax attention becomes one op, whose gradient rule
  // then recomputes its scores instead of keeping them.
  p.push_back(plainPass("fuse-attention"));
  if (c.trainingStep) {
    if (c.ranks > 1) {
      p.push_back(plainPass("autodiff"));
      p.push_back(dataParallelPass(c.ranks));
    }
    p.push_back(trainStepPass(c.optimizer));
  }
  addOptimizations(p, c.fuseLossMinBytes);
  return p;
}

PassList lowerPasses(const Target& target) {
  PassList p;
  addLowering(p, packWeightsPass(target.panelWidth()));
  return p;
}

PassList generationLowerPasses(const Target& target, int64_t batch) {
  // Fewer rows than the product tile leaves accumulators idle; four vectors
  // across instead of two keep four FMA chains in flight per row (batch 1:
  // a matrix-vector product, latency-bound with two).
  int64_t width = batch < target.tile.rows ? 4 * target.lanes() : target.panelWidth();
  PassList p;
  addLowering(p, packParamsPass(width));
  return p;
}

PassList fuzzPasses() {
  PassList p;
  p.push_back(plainPass("fuse-attention"));
  addOptimizations(p, 0);
  addLowering(p, packWeightsPass(16));
  return p;
}

std::string fullPipelineText(const PipelineConfig& c) {
  return pipelineText(optimizePasses(c)) + "," + pipelineText(lowerPasses(c.target));
}

Graph optimizeGraph(Graph forward, const PipelineConfig& c, const PassManagerOptions& options) {
  verify(forward);
  PassManager pm(options);
  pm.add(optimizePasses(c));
  pm.run(forward);
  return forward;
}

Graph lowerGraph(Graph optimized, const Target& target, const PassManagerOptions& options) {
  PassManager pm(options);
  pm.add(lowerPasses(target));
  pm.run(optimized);
  return optimized;
}

GenerationGraphs lowerGenerationGraph(Graph optimized, const Target& target, int64_t batch) {
  Graph prepare = hoistParamExpressions(optimized);
  PassManager pm;
  pm.add(generationLowerPasses(target, batch));
  pm.run(optimized);
  return {std::move(optimized), std::move(prepare)};
}

Graph buildTrainingGraph(const ModelDef& model, const ModelConfig& config, const OptimizerConfig& optimizer,
                         int64_t ranks, int64_t fuseLossMinBytes) {
  PipelineConfig pipeline;
  pipeline.optimizer = optimizer;
  pipeline.ranks = ranks;
  pipeline.fuseLossMinBytes = fuseLossMinBytes;
  return optimizeGraph(buildModelGraph(model, config), pipeline);
}

Graph buildEvaluationGraph(const ModelDef& model, const ModelConfig& config) {
  PipelineConfig pipeline;
  pipeline.trainingStep = false;
  Graph forward = buildModelGraph(model, config);
  std::erase_if(forward.outputs, [](const GraphOutput& o) { return o.name == "logits"; });
  return optimizeGraph(std::move(forward), pipeline);
}

GenerationGraphs buildGenerationGraphs(const ModelDef& model, ModelConfig config, const Target& target,
                                       int64_t batch) {
  config.batchSize = batch;
  config.numSteps = 1;
  PipelineConfig pipeline;
  pipeline.trainingStep = false;
  pipeline.target = target;
  return lowerGenerationGraph(optimizeGraph(buildStepGraph(model, config), pipeline), target, batch);
}

Graph readGraphFile(const std::string& path) {
  Graph g = parseGraphFile(path);  // checked against the IR's own rules as it is read
  verifyKernelRules(g);
  return g;
}

}  // namespace graphc
