// runtime/Pipeline.h — the one pipeline: forward graph -> training step ->
// optimize -> lower for a target. The trainer, the generator, the JIT engine
// and `graphc compile` all build their graphs here, so what `compile` prints
// is what `train` runs. (Code generation itself is codegen/Jit.h, on the
// lowered graph and the same target.)
#pragma once

#include <string>

#include "codegen/Target.h"
#include "graph/Graph.h"
#include "passes/PassManager.h"
#include "passes/Passes.h"
#include "passes/TrainingStep.h"

namespace graphc {

struct PipelineConfig {
  bool trainingStep = true;  // false: the forward graph (logits and loss) only
  OptimizerConfig optimizer;
  // Data parallelism over this many processes: autodiff, then data-parallel
  // (the gradients and the loss averaged over them), then the step.
  int64_t ranks = 1;
  Target target = hostTarget();
  // fuse-linear-cross-entropy fuses an output layer whose logits take at
  // least this many bytes (0: always; fusedLossMinBytes("off"): never).
  int64_t fuseLossMinBytes = kFuseLinearCrossEntropyMinBytes;
};

// The passes that take a forward graph to the optimized graph the
// interpreter runs (the training step first, when asked for).
std::string optimizePassesFor(const PipelineConfig& c);
// The passes that take an optimized graph to the fused, planned graph code
// is generated from, for the config's target.
std::string lowerPassesFor(const Target& target);
// Both, as one pipeline string (graphc compile's default --passes).
std::string fullPipelineFor(const PipelineConfig& c);

// The lowering of a one-step graph into a generation program
// (codegen/GenerationProgram.h): as lowerPassesFor, but every product over a
// param reads it packed once (pack-params), in panels wide enough for `batch`
// rows to keep the target's FMA units busy.
std::string generationLowerPassesFor(const Target& target, int64_t batch);

Graph optimizeGraph(Graph forward, const PipelineConfig& c, const PassManagerOptions& options = {});
Graph lowerGraph(Graph optimized, const Target& target, const PassManagerOptions& options = {});
// A generation program's graphs: its step, lowered, and what the step's params
// are prepared from once, whenever they are set (passes/ParamHoisting.cpp:
// merged weights; its outputs are named as the step's "prepared." params).
struct GenerationGraphs {
  Graph step;
  Graph prepare;
};
GenerationGraphs lowerGenerationGraph(Graph optimized, const Target& target, int64_t batch);

}  // namespace graphc
