// passes/PassRegistry.cpp — every pass by name, with the options it takes:
// the typed objects of passes/PassList.h, and the reading of a pipeline
// string's options into them (`graphc opt --passes`).
#include <fmt/format.h>
#include <functional>

#include "graph/PackedLayout.h"
#include "passes/Autodiff.h"
#include "passes/DataParallel.h"
#include "passes/Fuse.h"
#include "passes/Plan.h"
#include "passes/PassList.h"
#include "passes/PassManager.h"
#include "passes/Passes.h"
#include "passes/TrainStep.h"

namespace graphc {
namespace {

// Reads a pipeline string's options for one pass into its typed object.
using FromText = std::function<std::unique_ptr<Pass>(const PassOptions&)>;

struct Entry {
  const char* name;
  const char* description;
  bool (*plain)(Graph&) = nullptr;        // a pass without options
  std::vector<std::string> options = {};  // or the keys it takes,
  FromText fromText = nullptr;            // and how they become its object
};

const std::vector<Entry>& registry();

// A pass: its name, its options as a pipeline string spells them, and the
// function with those options bound.
class BoundPass : public Pass {
 public:
  BoundPass(const Entry& entry, std::string options, std::function<bool(Graph&)> run)
      : entry_(entry), options_(std::move(options)), run_(std::move(run)) {}
  std::string name() const override { return entry_.name; }
  std::string description() const override { return entry_.description; }
  std::string options() const override { return options_; }
  bool run(Graph& g) override { return run_(g); }

 private:
  const Entry& entry_;
  std::string options_;
  std::function<bool(Graph&)> run_;
};

const Entry& entryNamed(const std::string& name) {
  for (const auto& e : registry())
    if (name == e.name) return e;
  std::vector<std::string> names;
  for (const auto& e : registry()) names.push_back(e.name);
  throw UnknownNameError(fmt::format("unknown pass '{}' (known: {})", escapeForMessage(name), fmt::join(names, ", ")),
                         name, names);
}

std::unique_ptr<Pass> boundPass(const char* name, std::string options, std::function<bool(Graph&)> run) {
  return std::make_unique<BoundPass>(entryNamed(name), std::move(options), std::move(run));
}

// Without options: the seed's step (SGD, learning rate 1, clipping to norm 1).
OptimizerConfig optimizerFrom(const PassOptions& o) {
  OptimizerConfig c;
  c.kind = o.getString("optimizer", c.kind);
  c.learningRate = o.getDouble("lr", c.learningRate);
  c.clipNorm = o.getDouble("clip", c.clipNorm);
  c.momentum = o.getDouble("momentum", c.momentum);
  c.beta1 = o.getDouble("beta1", c.beta1);
  c.beta2 = o.getDouble("beta2", c.beta2);
  c.epsilon = o.getDouble("epsilon", c.epsilon);
  c.weightDecay = o.getDouble("weight-decay", c.weightDecay);
  c.learningRateInput = o.getDouble("lr-input", 0) != 0;
  return c;
}

// "optimizer=sgd,lr=1,clip=1,...": the settings that differ by optimizer only where they apply.
std::string optimizerText(const OptimizerConfig& c) {
  std::string options = fmt::format("optimizer={},lr={},clip={}", c.kind, c.learningRate, c.clipNorm);
  if (c.kind == "momentum") options += fmt::format(",momentum={}", c.momentum);
  if (c.kind == "adam" || c.kind == "adamw")
    options += fmt::format(",beta1={},beta2={},epsilon={}", c.beta1, c.beta2, c.epsilon);
  if (c.weightDecay > 0) options += fmt::format(",weight-decay={}", c.weightDecay);
  if (c.learningRateInput) options += ",lr-input=1";
  return options;
}

void checkPanelWidth(const char* pass, int64_t width) {
  if (width < 1 || width > kMaxPanelWidth)
    throw Error(fmt::format("pass '{}': panel-width must be in 1..{}, got {}", pass, kMaxPanelWidth, width));
}

const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries = {
      {"dce", "remove nodes no output or update depends on", eliminateDeadCode},
      {"cse", "merge nodes computing the same value", eliminateCommonSubexpressions},
      {"fold", "fold ops over constants and remove algebraic identities", foldConstants},
      {"autodiff", "add outputs grad.<param>: the gradient of output \"loss\" for every param", differentiateLoss},
      {"data-parallel",
       "after autodiff: every grad.<param> output and the loss become their mean over ranks=N processes (one "
       "all_reduce of one buffer), so train-step clips and updates with the global gradient on every process",
       nullptr, {"ranks"},
       [](const PassOptions& o) {
         if (!o.has("ranks")) throw Error("pass 'data-parallel': give the number of processes, data-parallel{ranks=N}");
         return dataParallelPass(o.getInt("ranks", 1));
       }},
      {"train-step",
       "autodiff (or the grad.<param> outputs already there), clipping to a global norm, the optimizer update "
       "(default: SGD, lr 1, clip 1: the seed's step)",
       nullptr, {"optimizer", "lr", "clip", "momentum", "beta1", "beta2", "epsilon", "weight-decay", "lr-input"},
       [](const PassOptions& o) { return trainStepPass(optimizerFrom(o)); }},
      {"simplify", "fold, cse and dce to a fixed point", simplify},
      {"fuse-attention", "softmax attention (product, scale, causal mask, softmax, product) becomes one attention op; "
       "before autodiff, so no T x T scores are kept for the backward pass", fuseAttention},
      {"fuse-linear-cross-entropy",
       "after autodiff: the output layer's product, softmax cross-entropy and their gradient become "
       "linear_cross_entropy_train (or linear_cross_entropy and its _grad when the loss's gradient depends on the "
       "loss), which never hold the rows x V logits; min-bytes: fuse only logits at least this big (default 8 MiB)",
       nullptr, {"min-bytes"},
       [](const PassOptions& o) {
         return fuseLinearCrossEntropyPass(o.getInt("min-bytes", kFuseLinearCrossEntropyMinBytes));
       }},
      {"onehot-gather", "products with a one-hot matrix become gathers and scatter-adds of rows",
       oneHotProductsToGathers},
      {"batch-matmul", "turn sums of matrix products (and of scatter-adds, row sums) into one over concatenations",
       batchMatmulSums},
      {"merge-products", "merge products that share their left operand into one wider product",
       mergeProductsSharingLhs},
      {"concat-grid",
       "columns of row concatenations (BPTT's gate gradients over the steps, side by side) become rows of each "
       "step's columns, so every step's blocks are made in place in the grid",
       interchangeConcatGrids},
      {"pack-weights",
       "pack a right operand shared by several products into panels once (packed_matmul); panel-width: the "
       "target's micro-kernel columns (default 16)",
       nullptr, {"panel-width"}, [](const PassOptions& o) { return packWeightsPass(o.getInt("panel-width", 16)); }},
      {"hoist-params",
       "for programs whose params are fixed while they run: concatenations, slices and transposes of params "
       "become new params (prepared.NAME), computed once when the params are set",
       hoistParams},
      {"pack-params",
       "every product over a param reads a new param holding it in panels (packed_from = its source), for "
       "programs whose params are fixed while they run (generation, export); panel-width as pack-weights",
       nullptr, {"panel-width"}, [](const PassOptions& o) { return packParamsPass(o.getInt("panel-width", 16)); }},
      {"share-concats", "two concatenations that are shifted windows of one sequence become slices of one",
       shareConcatWindows},
      {"fuse",
       "merge chains of elementwise ops (with edge broadcasts, row gathers) into fused kernels, and run the kernels "
       "that can inside the packed product before them (an LSTM's gates and cell); epilogue-chains=0: at most one "
       "kernel as wide as the product",
       nullptr, {"epilogue-chains"},
       [](const PassOptions& o) { return fusePass(o.getInt("epilogue-chains", 1)); }},
      {"plan", "assign every value an arena offset by liveness (views, in-place concats); sets arena_bytes",
       planMemory},
  };
  return entries;
}

}  // namespace

std::unique_ptr<Pass> plainPass(const std::string& name) {
  const Entry& e = entryNamed(name);
  if (!e.plain) throw Error(fmt::format("pass '{}' takes options: build it with its own function", name));
  return std::make_unique<BoundPass>(e, "", e.plain);
}

std::unique_ptr<Pass> dataParallelPass(int64_t ranks) {
  if (ranks < 1 || ranks > (1 << 20))
    throw Error(fmt::format("pass 'data-parallel': ranks must be in 1..1048576, got {}", ranks));
  return boundPass("data-parallel", fmt::format("ranks={}", ranks),
              [ranks](Graph& g) { return averageGradientsOverRanks(g, ranks); });
}

std::unique_ptr<Pass> trainStepPass(const OptimizerConfig& optimizer) {
  validate(optimizer);
  return boundPass("train-step", optimizerText(optimizer), [optimizer](Graph& g) {
    appendTrainingStep(g, optimizer);
    return true;
  });
}

std::unique_ptr<Pass> fuseLinearCrossEntropyPass(int64_t minBytes) {
  if (minBytes < 0)
    throw Error(fmt::format("pass 'fuse-linear-cross-entropy': min-bytes must be >= 0, got {}", minBytes));
  return boundPass("fuse-linear-cross-entropy", fmt::format("min-bytes={}", minBytes),
              [minBytes](Graph& g) { return fuseLinearCrossEntropy(g, minBytes); });
}

std::unique_ptr<Pass> fusePass(int64_t epilogueChains) {
  if (epilogueChains != 0 && epilogueChains != 1)
    throw Error(fmt::format("pass 'fuse': epilogue-chains must be 0 or 1, got {}", epilogueChains));
  FusionOptions options;
  options.epilogueChains = epilogueChains != 0;
  return boundPass("fuse", options.epilogueChains ? "" : "epilogue-chains=0",
                   [options](Graph& g) { return fuseElementwise(g, options); });
}

std::unique_ptr<Pass> packWeightsPass(int64_t panelWidth) {
  checkPanelWidth("pack-weights", panelWidth);
  return boundPass("pack-weights", fmt::format("panel-width={}", panelWidth),
              [panelWidth](Graph& g) { return packSharedRightOperands(g, panelWidth); });
}

std::unique_ptr<Pass> packParamsPass(int64_t panelWidth) {
  checkPanelWidth("pack-params", panelWidth);
  return boundPass("pack-params", fmt::format("panel-width={}", panelWidth),
              [panelWidth](Graph& g) { return packParamOperands(g, panelWidth); });
}

std::string pipelineText(const PassList& passes) {
  std::string text;
  for (const auto& p : passes) {
    if (!text.empty()) text += ',';
    text += p->name();
    if (std::string options = p->options(); !options.empty()) text += "{" + options + "}";
  }
  return text;
}

std::unique_ptr<Pass> createPass(const PassSpec& spec) {
  const Entry& e = entryNamed(spec.name);
  spec.options.allowOnly(e.options);
  return e.plain ? plainPass(spec.name) : e.fromText(spec.options);
}

std::unique_ptr<Pass> createPass(const std::string& name) { return createPass(PassSpec{name, PassOptions(name, {})}); }

std::vector<PassInfo> listPasses() {
  std::vector<PassInfo> out;
  for (const auto& e : registry()) out.push_back({e.name, e.description, e.options});
  return out;
}

}  // namespace graphc
