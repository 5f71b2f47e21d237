// runtime/Evaluator.h — perplexity on held-out text (`train --val-fraction`):
// the model's forward graph over consecutive windows of the tokens, one row,
// the state carried from window to window as sequential iteration carries it,
// no update.
#pragma once

#include <memory>
#include <vector>

#include "graph/ModelInterface.h"
#include "runtime/Engine.h"

namespace graphc {

class Evaluator {
 public:
  // config.batchSize is ignored (one row); windows are config.numSteps long.
  Evaluator(const ModelDef& model, ModelConfig config, const std::string& engine = "jit",
            const EngineOptions& engineOptions = {});
  ~Evaluator();
  // exp(mean cross-entropy) of predicting tokens[1..] from tokens[..n-1], in
  // whole windows (a tail shorter than a window is left out). NaN when the
  // tokens are fewer than one window and one.
  double perplexity(const TensorMap& params, const std::vector<int32_t>& tokens);

 private:
  Graph graph_;
  std::unique_ptr<Engine> engine_;
  int64_t steps_;
};

}  // namespace graphc
