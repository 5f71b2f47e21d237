// passes/PassRegistry.cpp — every pass by name, with the options it takes,
// for pipelines and `graphc opt`.
#include <fmt/format.h>
#include <functional>

#include "graph/PackedLayout.h"
#include "passes/Autodiff.h"
#include "passes/DataParallel.h"
#include "passes/Fusion.h"
#include "passes/MemoryPlanning.h"
#include "passes/PassManager.h"
#include "passes/Passes.h"
#include "passes/TrainingStep.h"

namespace graphc {
namespace {

using PassFn = std::function<bool(Graph&, const PassOptions&)>;

struct Entry {
  const char* name;
  const char* description;
  std::vector<std::string> options;  // the keys it takes
  PassFn fn;
  // Reads the options once when the pipeline is built, so a bad value fails
  // before any pass runs.
  std::function<void(const PassOptions&)> check = nullptr;
};

class RegisteredPass : public Pass {
 public:
  RegisteredPass(const Entry& e, PassOptions options) : entry_(e), options_(std::move(options)) {}
  std::string name() const override { return entry_.name; }
  std::string description() const override { return entry_.description; }
  bool run(Graph& g) override { return entry_.fn(g, options_); }

 private:
  const Entry& entry_;
  PassOptions options_;
};

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
  validate(c);
  return c;
}

int64_t minLogitBytesFrom(const PassOptions& o) {
  int64_t bytes = o.getInt("min-bytes", kFuseLinearCrossEntropyMinBytes);
  if (bytes < 0) throw Error(fmt::format("pass 'fuse-linear-cross-entropy': min-bytes must be >= 0, got {}", bytes));
  return bytes;
}

int64_t ranksFrom(const PassOptions& o) {
  if (!o.has("ranks")) throw Error("pass 'data-parallel': give the number of processes, data-parallel{ranks=N}");
  int64_t ranks = o.getInt("ranks", 1);
  if (ranks < 1 || ranks > (1 << 20)) throw Error(fmt::format("pass 'data-parallel': ranks must be in 1..1048576, got {}", ranks));
  return ranks;
}

int64_t panelWidthFrom(const PassOptions& o) {
  int64_t width = o.getInt("panel-width", 16);
  if (width < 1 || width > kMaxPanelWidth)
    throw Error(fmt::format("pass 'pack-weights': panel-width must be in 1..{}, got {}", kMaxPanelWidth, width));
  return width;
}

template <bool (*F)(Graph&)>
bool plain(Graph& g, const PassOptions&) {
  return F(g);
}

const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries = {
      {"dce", "remove nodes no output or update depends on", {}, plain<eliminateDeadCode>},
      {"cse", "merge nodes computing the same value", {}, plain<eliminateCommonSubexpressions>},
      {"fold", "fold ops over constants and remove algebraic identities", {}, plain<foldConstants>},
      {"autodiff", "add outputs grad.<param>: the gradient of output \"loss\" for every param", {},
       plain<differentiateLoss>},
      {"data-parallel",
       "after autodiff: every grad.<param> output and the loss become their mean over ranks=N processes (one "
       "all_reduce of one buffer), so train-step clips and updates with the global gradient on every process",
       {"ranks"},
       [](Graph& g, const PassOptions& o) { return averageGradientsOverRanks(g, ranksFrom(o)); },
       [](const PassOptions& o) { ranksFrom(o); }},
      {"train-step",
       "autodiff (or the grad.<param> outputs already there), clipping to a global norm, the optimizer update "
       "(default: SGD, lr 1, clip 1: the seed's step)",
       {"optimizer", "lr", "clip", "momentum", "beta1", "beta2", "epsilon", "weight-decay", "lr-input"},
       [](Graph& g, const PassOptions& o) {
         appendTrainingStep(g, optimizerFrom(o));
         return true;
       },
       [](const PassOptions& o) { optimizerFrom(o); }},
      {"simplify", "fold, cse and dce to a fixed point", {}, plain<simplify>},
      {"fuse-attention", "softmax attention (product, scale, causal mask, softmax, product) becomes one attention op; "
       "before autodiff, so no T x T scores are kept for the backward pass", {}, plain<fuseAttention>},
      {"fuse-linear-cross-entropy",
       "after autodiff: the output layer's product, softmax cross-entropy and their gradient become "
       "linear_cross_entropy(_grad), which never hold the rows x V logits; min-bytes: fuse only logits at least "
       "this big (default 8 MiB: the fused gradient makes the logits again)",
       {"min-bytes"},
       [](Graph& g, const PassOptions& o) { return fuseLinearCrossEntropy(g, minLogitBytesFrom(o)); },
       [](const PassOptions& o) { minLogitBytesFrom(o); }},
      {"onehot-gather", "products with a one-hot matrix become gathers and scatter-adds of rows", {},
       plain<oneHotProductsToGathers>},
      {"batch-matmul", "turn sums of matrix products (and of scatter-adds, row sums) into one over concatenations", {},
       plain<batchMatmulSums>},
      {"merge-products", "merge products that share their left operand into one wider product", {},
       plain<mergeProductsSharingLhs>},
      {"pack-weights",
       "pack a right operand shared by several products into panels once (packed_matmul); panel-width: the "
       "target's micro-kernel columns (default 16)",
       {"panel-width"},
       [](Graph& g, const PassOptions& o) { return packSharedRightOperands(g, panelWidthFrom(o)); },
       [](const PassOptions& o) { panelWidthFrom(o); }},
      {"hoist-params",
       "for programs whose params are fixed while they run: concatenations, slices and transposes of params "
       "become new params (prepared.NAME), computed once when the params are set",
       {},
       plain<hoistParams>},
      {"pack-params",
       "every product over a param reads a new param holding it in panels (packed_from = its source), for "
       "programs whose params are fixed while they run (generation, export); panel-width as pack-weights",
       {"panel-width"},
       [](Graph& g, const PassOptions& o) { return packParamOperands(g, panelWidthFrom(o)); },
       [](const PassOptions& o) { panelWidthFrom(o); }},
      {"share-concats", "two concatenations that are shifted windows of one sequence become slices of one", {},
       plain<shareConcatWindows>},
      {"fuse", "merge chains of elementwise ops (with edge broadcasts, row gathers) into fused kernels", {},
       [](Graph& g, const PassOptions&) { return fuseElementwise(g); }},
      {"plan", "assign every value an arena offset by liveness (views, in-place concats); sets arena_bytes", {},
       plain<planMemory>},
  };
  return entries;
}

}  // namespace

std::unique_ptr<Pass> createPass(const PassSpec& spec) {
  for (const auto& e : registry())
    if (spec.name == e.name) {
      spec.options.allowOnly(e.options);
      if (e.check) e.check(spec.options);
      return std::make_unique<RegisteredPass>(e, spec.options);
    }
  std::vector<std::string> names;
  for (const auto& e : registry()) names.push_back(e.name);
  throw UnknownNameError(fmt::format("unknown pass '{}' (known: {})", escapeForMessage(spec.name), fmt::join(names, ", ")),
                         spec.name, std::vector<std::string>(names.begin(), names.end()));
}

std::unique_ptr<Pass> createPass(const std::string& name) { return createPass(PassSpec{name, PassOptions(name, {})}); }

std::vector<PassInfo> listPasses() {
  std::vector<PassInfo> out;
  for (const auto& e : registry()) out.push_back({e.name, e.description, e.options});
  return out;
}

}  // namespace graphc
