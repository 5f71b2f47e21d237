// runtime/Evaluator.cpp — see Evaluator.h.
#include "runtime/Evaluator.h"

#include <cmath>
#include <fmt/format.h>

#include "graph/Verifier.h"
#include "runtime/Initializers.h"
#include "driver/Pipeline.h"

namespace graphc {

double Evaluation::perplexity() const { return tokens > 0 ? std::exp(loss()) : NAN; }

Evaluator::Evaluator(const ModelDef& model, ModelConfig config, const std::string& engine,
                     const EngineOptions& engineOptions)
    : model_(model), config_(std::move(config)), engineKind_(engine), engineOptions_(engineOptions) {}

Evaluator::~Evaluator() = default;

Evaluator::Compiled& Evaluator::compiledFor(int64_t rows, int64_t steps) {
  auto key = std::make_pair(rows, steps);
  auto it = compiled_.find(key);
  if (it == compiled_.end()) {
    ModelConfig c = config_;
    c.batchSize = rows;
    c.numSteps = steps;
    Compiled& made = compiled_[key];
    made.graph = buildEvaluationGraph(model_, c);
    verify(made.graph);
    made.engine = createEngine(engineKind_, made.graph, engineOptions_);
    it = compiled_.find(key);
  }
  // The params are copied in once per evaluation, not once per window.
  std::vector<std::string> names;
  for (const auto& [name, t] : *params_) names.push_back(name);
  it->second.engine->setResident(names);
  return it->second;
}

double Evaluator::runStreams(const std::vector<int64_t>& starts, int64_t length, const std::vector<int32_t>& tokens,
                             TensorMap& vars) {
  const int64_t rows = int64_t(starts.size()), T = config_.numSteps;
  double lossSum = 0;
  Engine* engine = nullptr;
  int64_t engineSteps = 0;
  for (int64_t w = 0; w < length; w += T) {
    int64_t steps = std::min(T, length - w);
    if (steps != engineSteps) {
      engine = compiledFor(rows, steps).engine.get();
      engineSteps = steps;
    }
    Tensor X(DType::I32, {rows, steps}), Y(DType::I32, {rows, steps});
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t t = 0; t < steps; ++t) {
        size_t at = size_t(starts[size_t(r)] + w + t);
        X.i32()[r * steps + t] = tokens[at];
        Y.i32()[r * steps + t] = tokens[at + 1];
      }
    vars["X"] = std::move(X);
    vars["Y"] = std::move(Y);
    // The loss is the window's mean; the state updates carry into the next window.
    lossSum += engine->run(vars).at("loss").item() * double(rows * steps);
    progressDone_ += rows * steps;
    if (progress_) progress_(progressDone_, progressTotal_);
  }
  return lossSum;
}

namespace {

// Row `row` of every state tensor that has `rows` rows first (the carried
// state of one stream); other state is kept as it is.
void keepRow(TensorMap& vars, const Graph& g, int64_t rows, int64_t row) {
  for (const Node& n : g.nodes) {
    if (n.op != OpKind::State) continue;
    Tensor& t = vars.at(n.name);
    if (!t.shape().empty() && t.shape()[0] == rows) t = t.rows(row, row + 1);
  }
}

}  // namespace

Evaluation Evaluator::estimate(const TensorMap& params, const std::vector<int32_t>& tokens, int64_t batches, Rng& rng) {
  const int64_t T = config_.numSteps, rows = config_.batchSize, lastStart = int64_t(tokens.size()) - T - 1;
  if (lastStart < 0)
    throw Error(fmt::format("the estimate needs windows of {} tokens, and the text has {}", T + 1, tokens.size()));
  params_ = &params;
  const Graph& g = compiledFor(rows, T).graph;
  progressDone_ = 0;
  progressTotal_ = batches * rows * T;
  Evaluation e;
  for (int64_t b = 0; b < batches; ++b) {
    std::vector<int64_t> starts;
    for (int64_t r = 0; r < rows; ++r) starts.push_back(rng.uniformInt(0, lastStart));
    TensorMap vars = zeroState(g);
    for (const auto& [name, t] : params) vars[name] = t;
    e.lossSum += runStreams(starts, T, tokens, vars);
    e.tokens += rows * T;
  }
  params_ = nullptr;
  return e;
}

Evaluation Evaluator::evaluate(const TensorMap& params, const std::vector<int32_t>& tokens) {
  if (tokens.size() < 2) throw Error(fmt::format("evaluation needs at least 2 tokens, got {}", tokens.size()));
  params_ = &params;
  const int64_t targets = int64_t(tokens.size()) - 1;
  const int64_t rows = std::max<int64_t>(1, std::min(config_.batchSize, targets));
  const int64_t length = targets / rows;  // per stream
  std::vector<int64_t> starts;
  for (int64_t r = 0; r < rows; ++r) starts.push_back(r * length);
  progressDone_ = 0;
  progressTotal_ = targets;

  const Graph& g = compiledFor(rows, std::min(config_.numSteps, length)).graph;
  TensorMap vars = zeroState(g);
  for (const auto& [name, t] : params) vars[name] = t;
  Evaluation e;
  e.lossSum = runStreams(starts, length, tokens, vars);
  e.tokens = rows * length;
  // The tail: fewer targets than streams, continuing the last stream in one row.
  if (int64_t tail = targets - rows * length; tail > 0) {
    keepRow(vars, g, rows, rows - 1);
    e.lossSum += runStreams({rows * length}, tail, tokens, vars);
    e.tokens += tail;
  }
  params_ = nullptr;
  return e;
}

}  // namespace graphc
