// runtime/Generator.h — text generation with a one-step graph of the model.
#pragma once

#include <memory>
#include <string>

#include "graph/ModelInterface.h"
#include "runtime/Corpus.h"
#include "runtime/Engine.h"

namespace graphc {

class Generator {
 public:
  // config.vocab must match vocab; batch and steps are set to 1.
  Generator(const ModelDef& model, ModelConfig config, const TensorMap& params, const Vocab& vocab,
            const std::string& engine = "interp", const EngineOptions& engineOptions = {});

  // New values for the params (same names and shapes), e.g. after more training.
  void setParams(const TensorMap& params);

  // The prefix warms up the state (nothing generated), then `length` tokens
  // are chosen greedily (temperature <= 0) or sampled from softmax(logits/T).
  // Returns the prefix followed by the generated text.
  std::string generate(const std::string& prefix, int64_t length, double temperature = 0.0, uint64_t seed = 0);

 private:
  std::vector<float> step(int32_t token);
  std::vector<std::string> paramNames() const;

  std::string modelName_;
  Graph graph_;
  std::unique_ptr<Engine> engine_;
  TensorMap vars_;
  const Vocab& vocab_;
};

}  // namespace graphc
