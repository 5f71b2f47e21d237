// driver/Pipeline.h — the one place a pipeline is spelled: model -> forward
// graph -> training step -> optimize -> lower for a target, as lists of typed
// passes (passes/PassList.h). The trainer, the evaluator, the generator, the
// exporter, the JIT engine and `graphc compile` all build their graphs here,
// so what `compile` prints is what `train` runs. (Code generation itself is
// codegen/Jit.h and codegen/GenerationProgram.h, on the lowered graph and the
// same target.)
#pragma once

#include <string>
#include <vector>

#include "graph/Graph.h"
#include "models/ModelInterface.h"
#include "passes/PassList.h"
#include "passes/PassManager.h"
#include "passes/Passes.h"
#include "passes/TrainStep.h"
#include "target/Target.h"

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

// `--fused-loss`'s choices (auto, on, off) as fuse-linear-cross-entropy's min-bytes.
inline const std::vector<std::string> kFusedLossChoices = {"auto", "on", "off"};
int64_t fusedLossMinBytes(const std::string& choice);

// The passes that take a forward graph to the optimized graph the
// interpreter runs (the training step first, when asked for).
PassList optimizePasses(const PipelineConfig& c);
// The passes that take an optimized graph to the fused, planned graph code
// is generated from, for the target.
PassList lowerPasses(const Target& target);
// Both, as one pipeline string (graphc compile's default --passes).
std::string fullPipelineText(const PipelineConfig& c);
// The lowering of a one-step graph into a generation program
// (codegen/GenerationProgram.h): as lowerPasses, but every product over a
// param reads it packed once (pack-params), in panels wide enough for `batch`
// rows to keep the target's FMA units busy.
PassList generationLowerPasses(const Target& target, int64_t batch);
// What the IR fuzzer runs: every optimizing and lowering pass train runs but
// the training step, the output-layer fusion at any size, for a 16-wide target.
PassList fuzzPasses();

Graph optimizeGraph(Graph forward, const PipelineConfig& c, const PassManagerOptions& options = {});
Graph lowerGraph(Graph optimized, const Target& target, const PassManagerOptions& options = {});
// A generation program's graphs: its step, lowered, and what the step's params
// are prepared from once, whenever they are set (passes/HoistParams.cpp:
// merged weights; its outputs are named as the step's "prepared." params).
struct GenerationGraphs {
  Graph step;
  Graph prepare;
};
GenerationGraphs lowerGenerationGraph(Graph optimized, const Target& target, int64_t batch);

// From a model: the optimized training step (the trainer's graph)...
Graph buildTrainingGraph(const ModelDef& model, const ModelConfig& config, const OptimizerConfig& optimizer,
                         int64_t ranks = 1, int64_t fuseLossMinBytes = kFuseLinearCrossEntropyMinBytes);
// ...the optimized loss alone, without the logits as an output, so a large
// output layer's loss is computed without them ever existing whole (evaluation)...
Graph buildEvaluationGraph(const ModelDef& model, const ModelConfig& config);
// ...and the graphs of a generation program stepping `batch` rows on `target`.
GenerationGraphs buildGenerationGraphs(const ModelDef& model, ModelConfig config, const Target& target, int64_t batch);

// An IR file (or - for stdin) parsed and checked by the IR's rules and by the
// code generator's (target/KernelRules.h).
Graph readGraphFile(const std::string& path);

}  // namespace graphc
