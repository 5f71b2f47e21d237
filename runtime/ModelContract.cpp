// runtime/ModelContract.cpp — see ModelContract.h.
#include "runtime/ModelContract.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "graph/Error.h"
#include "runtime/Initializers.h"
#include "runtime/Interpreter.h"

namespace graphc {

void checkLogitsOrder(const ModelDef& model, const ModelConfig& config) {
  constexpr int64_t kBatch = 2, kSteps = 3;
  ModelConfig c = config;
  c.batchSize = kBatch;
  c.numSteps = kSteps;
  c.training = false;
  c.generating = false;
  Graph g = buildModelGraph(model, c);
  Rng rng(7);
  TensorMap params = initializeParams(g, rng);
  auto logitsFor = [&](int32_t changed) {
    TensorMap vars = zeroState(g);
    for (const auto& [name, t] : params) vars[name] = t;
    Tensor X(DType::I32, {kBatch, kSteps}), Y(DType::I32, {kBatch, kSteps});
    for (int64_t i = 0; i < kBatch * kSteps; ++i) {
      X.i32()[i] = int32_t((i * 5 + 1) % c.vocab);
      Y.i32()[i] = 0;
    }
    X.i32()[0 * kSteps + 1] = changed;  // sequence 0, step 1
    vars["X"] = X;
    vars["Y"] = Y;
    return Interpreter(g).run(vars).at("logits");
  };
  const int32_t first = int32_t(6 % c.vocab), second = int32_t((6 + c.vocab / 2 + 1) % c.vocab);
  if (first == second) return;  // a vocabulary of one token: nothing to tell apart
  Tensor a = logitsFor(first), b = logitsFor(second);
  const int64_t width = a.shape()[1];
  std::vector<int64_t> changedRows;
  for (int64_t r = 0; r < kBatch * kSteps; ++r)
    for (int64_t j = 0; j < width; ++j)
      if (a.f32()[r * width + j] != b.f32()[r * width + j]) {
        changedRows.push_back(r);
        break;
      }
  // Time-major: row t * batch + b. Sequence 0 from step 1 on is rows 2 and 4.
  const std::vector<int64_t> allowed = {1 * kBatch + 0, 2 * kBatch + 0};
  bool outside = false;
  for (int64_t r : changedRows) outside |= r != allowed[0] && r != allowed[1];
  bool ownStep = std::find(changedRows.begin(), changedRows.end(), allowed[0]) != changedRows.end();
  if (!outside && ownStep) return;
  throw Error(fmt::format(
      "model '{}': its logits are not in time-major order: with {} sequences of {} steps, changing the token of "
      "sequence 0 at step 1 changed logits rows [{}], where rows [{}] (row = step * batch + sequence) should change{}",
      model.name, kBatch, kSteps, fmt::join(changedRows, ", "), fmt::join(allowed, ", "),
      outside ? " and no other (a batch-major layout, or a row that sees other sequences or later steps)"
              : " (the step's own row did not)"));
}

}  // namespace graphc
