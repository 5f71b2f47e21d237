// runtime/Evaluator.h — perplexity on held-out text, every token counted, at
// batch speed: the text is cut into `batch` contiguous streams evaluated side
// by side with the model's forward graph (no update), windows of `numSteps`
// tokens, the state carried from window to window as sequential iteration
// carries it. What is left after the streams (fewer tokens than streams)
// continues the last stream's state in one row, so every token but the first
// (which nothing predicts) is predicted exactly once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "models/ModelInterface.h"
#include "runtime/Engine.h"
#include "runtime/Random.h"

namespace graphc {

struct Evaluation {
  double lossSum = 0;   // summed cross-entropy (nats) over the predicted tokens
  int64_t tokens = 0;   // how many were predicted: the text's tokens less one
  double loss() const { return lossSum / double(tokens); }
  double perplexity() const;
};

class Evaluator {
 public:
  // config.batchSize streams (fewer when the text is short); windows of config.numSteps.
  Evaluator(const ModelDef& model, ModelConfig config, const std::string& engine = "jit",
            const EngineOptions& engineOptions = {});
  ~Evaluator();
  // Predicts tokens[1..] from what precedes them. Throws for fewer than 2 tokens.
  Evaluation evaluate(const TensorMap& params, const std::vector<int32_t>& tokens);
  double perplexity(const TensorMap& params, const std::vector<int32_t>& tokens) {
    return evaluate(params, tokens).perplexity();
  }
  // nanoGPT's estimate_loss: `batches` batches of config.batchSize windows of
  // config.numSteps + 1 tokens starting anywhere (drawn from rng), each from a
  // fresh state. A sample of the text, not all of it. Throws when the text
  // is shorter than one window.
  Evaluation estimate(const TensorMap& params, const std::vector<int32_t>& tokens, int64_t batches, Rng& rng);
  // Called after every window of evaluate and estimate with the tokens
  // predicted so far and in all (for a progress line on long texts).
  void onProgress(std::function<void(int64_t done, int64_t total)> fn) { progress_ = std::move(fn); }

 private:
  struct Compiled {
    Graph graph;
    std::unique_ptr<Engine> engine;
  };
  // The forward graph for `rows` streams and `steps` tokens per window, built
  // on first use, its engine told the params are resident (copied in once).
  Compiled& compiledFor(int64_t rows, int64_t steps);
  // Predicts `length` targets of each of the streams starting at `starts`, from `vars`' state; returns the summed loss.
  double runStreams(const std::vector<int64_t>& starts, int64_t length, const std::vector<int32_t>& tokens,
                    TensorMap& vars);

  const ModelDef& model_;
  ModelConfig config_;
  std::string engineKind_;
  EngineOptions engineOptions_;
  std::map<std::pair<int64_t, int64_t>, Compiled> compiled_;
  const TensorMap* params_ = nullptr;
  std::function<void(int64_t, int64_t)> progress_;
  int64_t progressDone_ = 0, progressTotal_ = 0;
};

}  // namespace graphc
