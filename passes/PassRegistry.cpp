// passes/PassRegistry.cpp — every pass by name, for pipelines and `graphc opt`.
#include <fmt/format.h>
#include <functional>

#include "passes/PassManager.h"
#include "passes/Autodiff.h"
#include "passes/Fusion.h"
#include "passes/MemoryPlanning.h"
#include "passes/Passes.h"
#include "passes/TrainingStep.h"

namespace graphc {
namespace {

class FunctionPass : public Pass {
 public:
  FunctionPass(std::string name, std::string description, std::function<bool(Graph&)> fn)
      : name_(std::move(name)), description_(std::move(description)), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }
  std::string description() const override { return description_; }
  bool run(Graph& g) override { return fn_(g); }

 private:
  std::string name_, description_;
  std::function<bool(Graph&)> fn_;
};

struct Entry {
  const char* name;
  const char* description;
  std::function<bool(Graph&)> fn;
};

const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries = {
      {"dce", "remove nodes no output or update depends on", eliminateDeadCode},
      {"cse", "merge nodes computing the same value", eliminateCommonSubexpressions},
      {"fold", "fold ops over constants and remove algebraic identities", foldConstants},
      {"autodiff", "add outputs grad.<param>: the gradient of output \"loss\" for every param", differentiateLoss},
      {"train-step", "autodiff, clip to global norm 1, SGD with learning rate 1 (the seed's step)",
       [](Graph& g) {
         appendTrainingStep(g, OptimizerConfig{});
         return true;
       }},
      {"simplify", "fold, cse and dce to a fixed point",
       [](Graph& g) {
         bool any = false;
         for (int round = 0; round < 10; ++round) {
           bool changed = foldConstants(g);
           changed |= eliminateCommonSubexpressions(g);
           changed |= eliminateDeadCode(g);
           any |= changed;
           if (!changed) break;
         }
         return any;
       }},
      {"onehot-gather", "products with a one-hot matrix become gathers and scatter-adds of rows",
       oneHotProductsToGathers},
      {"batch-matmul", "turn sums of matrix products (and of scatter-adds, row sums) into one over concatenations",
       batchMatmulSums},
      {"merge-products", "merge products that share their left operand into one wider product", mergeProductsSharingLhs},
      {"pack-weights", "pack a right operand shared by several products into panels once (packed_matmul)",
       packSharedRightOperands},
      {"share-concats", "two concatenations that are shifted windows of one sequence become slices of one",
       shareConcatWindows},
      {"fuse", "merge chains of elementwise ops (with edge broadcasts, row gathers) into fused kernels",
       [](Graph& g) { return fuseElementwise(g); }},
      {"plan", "assign every value an arena offset by liveness (views, in-place concats); sets arena_bytes",
       planMemory},
  };
  return entries;
}

}  // namespace

std::unique_ptr<Pass> createPass(const std::string& name) {
  for (const auto& e : registry())
    if (name == e.name) return std::make_unique<FunctionPass>(e.name, e.description, e.fn);
  std::vector<std::string> names;
  for (const auto& e : registry()) names.push_back(e.name);
  throw Error(fmt::format("unknown pass '{}' (known: {})", name, fmt::join(names, ", ")));
}

std::vector<std::pair<std::string, std::string>> listPasses() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : registry()) out.emplace_back(e.name, e.description);
  return out;
}

}  // namespace graphc
