// runtime/Evaluator.cpp — see Evaluator.h.
#include "runtime/Evaluator.h"

#include <cmath>

#include "graph/Verifier.h"
#include "runtime/Initializers.h"
#include "runtime/Pipeline.h"

namespace graphc {

Evaluator::Evaluator(const ModelDef& model, ModelConfig config, const std::string& engine,
                     const EngineOptions& engineOptions)
    : steps_(config.numSteps) {
  config.batchSize = 1;
  PipelineConfig pipeline;
  pipeline.trainingStep = false;
  graph_ = optimizeGraph(buildModelGraph(model, config), pipeline);
  verify(graph_);
  engine_ = createEngine(engine, graph_, engineOptions);
}

Evaluator::~Evaluator() = default;

double Evaluator::perplexity(const TensorMap& params, const std::vector<int32_t>& tokens) {
  int64_t windows = (int64_t(tokens.size()) - 1) / steps_;
  if (windows < 1) return NAN;
  TensorMap vars = zeroState(graph_);
  for (const auto& [name, t] : params) vars[name] = t;
  double lossSum = 0;
  for (int64_t w = 0; w < windows; ++w) {
    auto begin = tokens.begin() + w * steps_;
    vars["X"] = Tensor::i32({1, steps_}, std::vector<int32_t>(begin, begin + steps_));
    vars["Y"] = Tensor::i32({1, steps_}, std::vector<int32_t>(begin + 1, begin + steps_ + 1));
    lossSum += engine_->run(vars).at("loss").item();  // the state updates carry into the next window
  }
  return std::exp(lossSum / double(windows));
}

}  // namespace graphc
