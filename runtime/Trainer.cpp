// runtime/Trainer.cpp — the epoch loop: batches, state carry-over, metrics.
#include "runtime/Trainer.h"

#include <chrono>
#include <cmath>
#include <fmt/format.h>

#include "runtime/Pipeline.h"
#include "runtime/Initializers.h"

namespace graphc {

Graph buildTrainingGraph(const ModelDef& model, const ModelConfig& config, const OptimizerConfig& optimizer) {
  PipelineConfig pipeline;
  pipeline.optimizer = optimizer;
  return optimizeGraph(buildModelGraph(model, config), pipeline);
}

Trainer::Trainer(const ModelDef& model, const TrainOptions& options, const Corpus& corpus)
    : options_(options), corpus_(corpus), rng_(options.seed) {
  if (options_.model.vocab != corpus.vocab.size())
    throw Error(fmt::format("the model's vocab size {} differs from the corpus vocabulary ({})", options_.model.vocab,
                            corpus.vocab.size()));
  int64_t needed = minTokensForOneBatch(options_.model.batchSize, options_.model.numSteps, options_.iter);
  if (int64_t(corpus.tokens.size()) < needed)
    throw Error(fmt::format("--max-tokens: {} tokens are too few for one minibatch of batch size {} and {} steps "
                            "(need at least {})",
                            corpus.tokens.size(), options_.model.batchSize, options_.model.numSteps, needed));
  step_ = buildTrainingGraph(model, options_.model, options_.optimizer);
  engine_ = createEngine(options_.engine, step_, options_.engineOptions);
  vars_ = initializeParams(step_, rng_);
  for (const Node& n : step_.nodes) {
    if (n.op == OpKind::Param) paramNames_.push_back(n.name);
    if (n.op == OpKind::State && attr::role(n.attrs, "") != "optimizer") modelStateNames_.push_back(n.name);
  }
  for (auto& [name, t] : zeroState(step_)) vars_[name] = std::move(t);
  // Params and optimizer state stay in the engine between steps (the JIT then
  // never copies the weights out and back in); params() reads them back.
  std::vector<std::string> resident = paramNames_;
  for (const Node& n : step_.nodes)
    if (n.op == OpKind::State && attr::role(n.attrs, "") == "optimizer") resident.push_back(n.name);
  engine_->setResident(resident);
}

void Trainer::resetModelState() {
  for (const auto& name : modelStateNames_) {
    Tensor& t = vars_.at(name);
    std::fill_n(t.f32(), t.size(), 0.0f);
  }
}

EpochReport Trainer::trainEpoch() {
  ++epoch_;
  auto batches = epochBatches(corpus_.tokens, options_.model.batchSize, options_.model.numSteps, options_.iter, rng_);
  double lossSum = 0;
  int64_t tokens = 0;
  resetModelState();  // sequential: carried within the epoch; random: reset again per batch below
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < batches.size(); ++i) {
    if (options_.iter == IterKind::Random && i > 0) resetModelState();
    vars_["X"] = std::move(batches[i].X);
    vars_["Y"] = std::move(batches[i].Y);
    TensorMap out = engine_->run(vars_);
    double loss = out.at("loss").item();
    ++steps_;
    if (onStep) onStep(loss);
    if (!std::isfinite(loss))
      throw Error(fmt::format("training diverged: the loss is {} at epoch {}, step {} (try a lower --lr or --clip)", loss,
                              epoch_, i + 1));
    int64_t n = options_.model.batchSize * options_.model.numSteps;
    lossSum += loss * double(n);
    tokens += n;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  seconds_ += seconds;
  EpochReport r;
  r.epoch = epoch_;
  r.perplexity = std::exp(lossSum / double(tokens));
  r.tokensPerSec = seconds > 0 ? double(tokens) / seconds : 0;
  r.seconds = seconds_;
  r.steps = steps_;
  return r;
}

TensorMap Trainer::params() const {
  TensorMap resident;  // what the engine keeps; the rest of vars_ is current
  engine_->readResident(resident);
  TensorMap p;
  for (const auto& name : paramNames_) p[name] = resident.count(name) ? resident.at(name) : vars_.at(name);
  return p;
}

}  // namespace graphc
