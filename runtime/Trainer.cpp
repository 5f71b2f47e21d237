// runtime/Trainer.cpp — the epoch loop: batches, state carry-over, metrics.
#include "runtime/Trainer.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <chrono>
#include <cmath>
#include <fmt/format.h>

#include "graph/CounterRandom.h"
#include "driver/Pipeline.h"
#include "runtime/Initializers.h"

namespace graphc {

Trainer::Trainer(const ModelDef& model, const TrainOptions& options, const Corpus& corpus)
    : options_(options), corpus_(corpus), rng_(options.seed) {
  const int processes = options_.world ? options_.world->size() : 1;
  const int64_t shards = options_.shards > 0 ? options_.shards : processes;
  if (shards % processes != 0)
    throw Error(fmt::format("--shards {} do not split over {} processes (each trains as many); use a multiple of {}",
                            shards, processes, processes));
  const int local = int(shards / processes);
  if (local > 1) {  // this process trains several shards: this trainer is the first, peers_ the others
    shardWorld_ = std::make_unique<ShardWorld>(local, options_.world, options_.threads);
    options_.world = &shardWorld_->shard(0);
  }
  if (options_.world) {
    rank_ = options_.world->rank();
    ranks_ = options_.world->size();
  }
  const int64_t batch = options_.model.batchSize;
  if (batch % ranks_ != 0)
    throw Error(fmt::format("--batch-size {} does not split into {} shards of equal rows (one per rank, or --shards); "
                            "use a multiple of {}",
                            batch, ranks_, ranks_));
  rowsPerRank_ = batch / ranks_;
  if (options_.model.vocab != corpus.vocab.size())
    throw Error(fmt::format("the model's vocab size {} differs from the corpus vocabulary ({})", options_.model.vocab,
                            corpus.vocab.size()));
  int64_t needed = minTokensForOneBatch(options_.model.batchSize, options_.model.numSteps, options_.iter);
  if (int64_t(corpus.tokens.size()) < needed)
    throw Error(fmt::format("--max-tokens: {} tokens are too few for one minibatch of batch size {} and {} steps "
                            "(need at least {})",
                            corpus.tokens.size(), options_.model.batchSize, options_.model.numSteps, needed));
  ModelConfig mine = options_.model;
  mine.batchSize = rowsPerRank_;
  mine.training = true;
  validate(options_.schedule, options_.optimizer.learningRate);
  options_.optimizer.learningRateInput = options_.schedule.kind != "constant" || options_.schedule.warmup > 0;
  step_ = buildTrainingGraph(model, mine, options_.optimizer, ranks_, options_.fuseLossMinBytes);
  engine_ = createEngine(options_.engine, step_, options_.engineOptions);
  // Params are drawn in the model's declaration order (its forward graph's),
  // whatever order the passes leave them in: the weights `generate
  // --untrained` shows for the same seed (merge-products moves a 2-layer GRU's).
  vars_ = initializeParams(buildModelGraph(model, mine), rng_);
  for (const Node& n : step_.nodes)
    if (n.op == OpKind::Param && !vars_.count(n.name))
      throw Error(fmt::format("the training step has a param '{}' the model does not declare", n.name));
  for (const Node& n : step_.nodes) {
    if (n.op == OpKind::Param) paramNames_.push_back(n.name);
    if (n.op == OpKind::State && attr::role(n.attrs, "") != "optimizer") modelStateNames_.push_back(n.name);
  }
  for (auto& [name, t] : zeroState(step_)) vars_[name] = std::move(t);
  for (const Node& n : step_.nodes) usesRandomness_ = usesRandomness_ || (n.op == OpKind::Input && n.name == "rng_key");
  if (options_.schedule.kind == "cosine" && options_.schedule.totalSteps == 0)
    options_.schedule.totalSteps = std::max<int64_t>(1, options_.schedule.epochs * batchesPerEpoch() - options_.schedule.warmup);
  // Params and optimizer state stay in the engine between steps (the JIT then
  // never copies the weights out and back in); params() reads them back.
  for (const auto& [name, t] : vars_)
    if (!isStepInput(name)) stateTypes_[name] = t.type();
  residentNames_ = paramNames_;
  for (const Node& n : step_.nodes)
    if (n.op == OpKind::State && attr::role(n.attrs, "") == "optimizer") residentNames_.push_back(n.name);
  engine_->setResident(residentNames_, /*take=*/true);  // vars_ keeps them only with an engine that does not
  for (int i = 1; i < local; ++i) {
    TrainOptions peer = options;
    peer.world = &shardWorld_->shard(i);
    peer.shards = shards;
    peers_.push_back(std::make_unique<Trainer>(model, peer, corpus));
  }
}

Trainer::~Trainer() = default;

Tensor Trainer::myRows(const Tensor& whole) const {
  if (ranks_ == 1) return whole;
  if (whole.shape().empty() || whole.shape()[0] != options_.model.batchSize)
    throw Error(fmt::format("a tensor of type {} does not have the batch's {} rows first", str(whole.type()),
                            options_.model.batchSize));
  return whole.rows(rank_ * rowsPerRank_, (rank_ + 1) * rowsPerRank_);
}

Tensor Trainer::allRows(const Tensor& mine) const {
  if (ranks_ == 1) return mine;
  if (mine.shape().empty() || mine.shape()[0] != rowsPerRank_)
    throw Error(fmt::format("carried state of type {} is not batch-major (rows {})", str(mine.type()), rowsPerRank_));
  Shape shape = mine.shape();
  shape[0] = options_.model.batchSize;
  Tensor whole(mine.dtype(), shape);
  // The gather moves 4-byte words; i32 state (a carried context of token ids) travels as their bits.
  if (mine.dtype() == DType::F32) options_.world->allGather(mine.f32(), mine.size(), whole.f32());
  else
    options_.world->allGather(reinterpret_cast<const float*>(mine.i32()), mine.size(), reinterpret_cast<float*>(whole.i32()));
  return whole;
}

// One process stops when asked; ranks stop together, at a step every one of them agrees on.
bool Trainer::stopAgreed(const std::atomic<bool>* stop) const {
  bool mine = stop && stop->load();
  return ranks_ > 1 ? options_.world->anyOf(mine) : mine;
}

// Every rank takes the same steps, so every rank must hold the same
// parameters, bit for bit. A rank whose code rounds differently (compiled for
// another CPU) would drift away unnoticed; once per epoch the ranks compare a
// hash of their parameters' bits.
void Trainer::checkReplicasAgree() const {
  // FNV-style over the bits, four independent chains (a multiply's latency each).
  uint64_t lanes[4] = {0x9e3779b97f4a7c15ull, 1, 2, 3};
  engine_->readResident(replicaCheck_, &paramNames_);  // into the same buffers every epoch
  for (const auto& name : paramNames_) {
    auto it = replicaCheck_.find(name);
    const Tensor& t = it != replicaCheck_.end() ? it->second : vars_.at(name);
    const float* f = t.f32();
    for (int64_t i = 0; i < t.size(); ++i) {
      uint64_t& h = lanes[i & 3];
      h = (h ^ std::bit_cast<uint32_t>(f[i])) * 0x100000001b3ull;
    }
  }
  uint64_t hash = lanes[0];
  for (int j = 1; j < 4; ++j) hash = (hash ^ lanes[j]) * 0x100000001b3ull;
  float bits[2];
  std::memcpy(bits, &hash, sizeof hash);
  std::vector<float> all(size_t(2 * ranks_));
  options_.world->allGather(bits, 2, all.data());
  for (int r = 0; r < ranks_; ++r)
    if (std::memcmp(&all[size_t(2 * r)], all.data(), sizeof hash) != 0)
      throw Error(fmt::format("the ranks' parameters differ after epoch {} (rank 0 and rank {}): their code rounds "
                              "differently; give every rank the same --target-cpu",
                              epoch_ + 1, r));
}

void Trainer::resetModelState() {
  for (const auto& name : modelStateNames_) {
    Tensor& t = vars_.at(name);
    if (t.dtype() == DType::F32) std::fill_n(t.f32(), t.size(), 0.0f);
    else std::fill_n(t.i32(), t.size(), 0);
  }
}

EpochReport Trainer::trainEpoch(const std::atomic<bool>* stop) {
  if (peers_.empty()) return trainShardEpoch(stop);
  EpochReport lead;
  shardWorld_->runAll([&](int i) {
    if (i == 0) lead = trainShardEpoch(stop);
    else peers_[size_t(i - 1)]->trainShardEpoch(stop);
  });
  return lead;
}

EpochReport Trainer::trainShardEpoch(const std::atomic<bool>* stop) {
  if (nextBatch_ == 0) {
    epochRng_ = rng_.save();
    lossSum_ = 0;
    tokens_ = 0;
    resetModelState();  // sequential: carried within the epoch; random: reset again per batch below
  }
  // The epoch's batches, drawn again from where they were first drawn when resuming mid-epoch.
  rng_.restore(epochRng_);
  auto batches = epochBatches(corpus_.tokens, options_.model.batchSize, options_.model.numSteps, options_.iter, rng_,
                              options_.windowBatches);
  if (nextBatch_ > int64_t(batches.size()))
    throw Error(fmt::format("the training state's next_batch {} is past the {} minibatches of epoch {}", nextBatch_,
                            batches.size(), epoch_ + 1));
  auto start = std::chrono::steady_clock::now();
  int64_t tokensBefore = tokens_;
  double gradNormSum = 0;
  int64_t gradNormSteps = 0;
  EpochReport r;
  r.epoch = epoch_ + 1;
  for (size_t i = size_t(nextBatch_); i < batches.size(); ++i) {
    if (options_.iter != IterKind::Sequential && i > 0) resetModelState();
    // Every rank drew the same global batch; each trains its own block of rows.
    vars_["X"] = myRows(batches[i].X);
    vars_["Y"] = myRows(batches[i].Y);
    if (usesRandomness_) {
      // Dropout's key: the run's seed, the step, and where this rank's rows start in the batch.
      Tensor key(DType::I32, {3});
      key.i32()[0] = int32_t(uint32_t(counterMix64(options_.seed)));
      key.i32()[1] = int32_t(uint32_t(steps_));
      key.i32()[2] = int32_t(rank_ * rowsPerRank_);
      vars_["rng_key"] = std::move(key);
    }
    if (options_.optimizer.learningRateInput) {
      r.learningRate = learningRateAt(options_.schedule, options_.optimizer.learningRate, steps_, lrScale_);
      Tensor lr(DType::F32, {});
      lr.f32()[0] = float(r.learningRate);
      vars_["lr"] = std::move(lr);
    } else {
      r.learningRate = options_.optimizer.learningRate;
    }
    TensorMap out = engine_->run(vars_);
    double loss = out.at("loss").item();
    if (auto norm = out.find("grad_norm"); norm != out.end()) {
      gradNormSum += norm->second.item();
      ++gradNormSteps;
    }
    ++steps_;
    if (onStep) onStep(loss);
    if (!std::isfinite(loss))
      throw Error(fmt::format("training diverged: the loss is {} at epoch {}, step {} (try a lower --lr or --clip)", loss,
                              epoch_ + 1, i + 1));
    int64_t n = options_.model.batchSize * options_.model.numSteps;
    lossSum_ += loss * double(n);
    tokens_ += n;
    nextBatch_ = int64_t(i) + 1;
    if (i + 1 < batches.size() && stopAgreed(stop)) {
      r.complete = false;
      r.stepsInEpoch = nextBatch_;
      break;
    }
  }
  // part of the epoch's time (0.5% of the seed's with 2 shards on threads, where it cannot fail)
  if (r.complete && ranks_ > 1 && !options_.world->ranksShareThisProcess()) checkReplicasAgree();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  seconds_ += seconds;
  if (r.complete) {
    ++epoch_;
    nextBatch_ = 0;
  }
  r.loss = lossSum_ / double(std::max<int64_t>(1, tokens_));
  r.perplexity = std::exp(r.loss);
  // This process's steps of the epoch (a run resumed mid-epoch averages the steps it ran).
  if (gradNormSteps > 0) r.gradNorm = gradNormSum / double(gradNormSteps);
  r.tokensPerSec = seconds > 0 ? double(tokens_ - tokensBefore) / seconds : 0;
  r.seconds = seconds_;
  r.steps = steps_;
  return r;
}

// What the trainer feeds every step (tokens, the rate, dropout's key): not state, not saved.
bool Trainer::isStepInput(const std::string& name) const {
  for (const Node& n : step_.nodes)
    if (n.op == OpKind::Input && n.name == name) return true;
  return false;
}

Trainer::Snapshot Trainer::snapshot() const {
  if (peers_.empty()) return shardSnapshot(true);
  Snapshot lead;
  shardWorld_->runAll([&](int i) {
    if (i == 0) lead = shardSnapshot(true);
    else peers_[size_t(i - 1)]->shardSnapshot(false);  // its rows of the carried state only
  });
  return lead;
}

// whole: the snapshot; otherwise only this shard's part in gathering the carried state.
Trainer::Snapshot Trainer::shardSnapshot(bool whole) const {
  Snapshot s;
  if (!whole) {
    for (const auto& name : modelStateNames_) allRows(vars_.at(name));
    return s;
  }
  engine_->readResident(s.tensors);  // what the engine keeps (params, optimizer state) is current there
  for (const auto& [name, t] : vars_)
    if (!isStepInput(name) && !s.tensors.count(name)) s.tensors[name] = t;
  for (const auto& name : modelStateNames_) s.tensors[name] = allRows(vars_.at(name));
  Rng::State epochRng = nextBatch_ > 0 ? epochRng_ : rng_.save();
  auto bits = [](double d) { return fmt::format("{}", std::bit_cast<uint64_t>(d)); };
  s.numbers = {{"epochs_done", std::to_string(epoch_)},
               {"steps", std::to_string(steps_)},
               {"next_batch", std::to_string(nextBatch_)},
               {"loss_sum_bits", bits(lossSum_)},
               {"tokens", std::to_string(tokens_)},
               {"rng_counter", std::to_string(epochRng.counter)},
               {"rng_spare_bits", bits(epochRng.spare)},
               {"rng_has_spare", epochRng.hasSpare ? "1" : "0"},
               {"lr_scale_bits", bits(lrScale_)}};
  return s;
}

bool Trainer::isCarried(const std::string& name) const {
  return std::find(modelStateNames_.begin(), modelStateNames_.end(), name) != modelStateNames_.end();
}

std::vector<std::string> Trainer::checkSnapshotTypes(
    const std::function<const TensorType*(const std::string&)>& typeOf) const {
  std::vector<std::string> names;
  for (const auto& [name, type] : stateTypes_) {
    const TensorType* found = typeOf(name);
    if (!found) throw Error(fmt::format("the training state has no tensor '{}'", name));
    TensorType needed = type;  // a snapshot holds the carried state of all rows; this rank keeps its own
    if (ranks_ > 1 && isCarried(name) && !needed.shape.empty()) needed.shape[0] = options_.model.batchSize;
    if (*found != needed)
      throw Error(fmt::format("the training state's '{}' is {}, this run needs {}", name, str(*found), str(needed)));
    names.push_back(name);
  }
  return names;
}

void Trainer::restore(const Snapshot& s) {
  auto number = [&](const char* key) -> uint64_t {
    auto it = s.numbers.find(key);
    if (it == s.numbers.end()) throw Error(fmt::format("the training state has no '{}'", key));
    uint64_t x = 0;
    auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), x);
    if (ec != std::errc() || end != it->second.data() + it->second.size())
      throw Error(fmt::format("the training state's '{}' is not a number", key));
    return x;
  };
  checkSnapshotTypes([&](const std::string& name) -> const TensorType* {
    auto it = s.tensors.find(name);
    return it == s.tensors.end() ? nullptr : &it->second.type();
  });
  for (const auto& [name, type] : stateTypes_) {
    const Tensor& whole = s.tensors.at(name);
    vars_[name] = ranks_ > 1 && isCarried(name) ? myRows(whole) : whole;
  }
  epoch_ = int64_t(number("epochs_done"));
  steps_ = int64_t(number("steps"));
  nextBatch_ = int64_t(number("next_batch"));
  lossSum_ = std::bit_cast<double>(number("loss_sum_bits"));
  tokens_ = int64_t(number("tokens"));
  Rng::State st{number("rng_counter"), std::bit_cast<double>(number("rng_spare_bits")), number("rng_has_spare") != 0};
  epochRng_ = st;
  rng_.restore(st);
  // Snapshots from before schedules: no plateau scale yet.
  lrScale_ = s.numbers.count("lr_scale_bits") ? std::bit_cast<double>(number("lr_scale_bits")) : 1.0;
  // The engine copies the restored params and optimizer state in on its next run.
  engine_->setResident(residentNames_, /*take=*/true);
  for (auto& peer : peers_) peer->restore(s);
}

void Trainer::setLearningRateScale(double scale) {
  lrScale_ = scale;
  for (auto& peer : peers_) peer->setLearningRateScale(scale);
}

int64_t Trainer::batchesPerEpoch() const {
  // The sequential iterator's count depends on the offset drawn (d2l's), by at most one.
  const int64_t n = int64_t(corpus_.tokens.size()), B = options_.model.batchSize, T = options_.model.numSteps;
  if (options_.iter == IterKind::Random) return (n - 1) / T / B;
  if (options_.iter == IterKind::Windows) return windowBatchesPerEpoch(n, B, T, options_.windowBatches);
  return ((n - 1) / B) / T;
}

TensorMap Trainer::releaseParams() {
  peers_.clear();  // their params are this one's
  engine_->discardExcept(paramNames_);
  return params();
}

TensorMap Trainer::params() const {
  TensorMap p;
  engine_->readResident(p, &paramNames_);  // what the engine keeps; the rest of vars_ is current
  for (const auto& name : paramNames_)
    if (!p.count(name)) p[name] = vars_.at(name);
  return p;
}

}  // namespace graphc
