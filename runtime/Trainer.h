// runtime/Trainer.h — trains a model on a corpus, one whole-step graph per minibatch.
#pragma once

#include <cmath>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/Graph.h"
#include "models/ModelInterface.h"
#include "passes/Passes.h"
#include "passes/TrainStep.h"
#include "runtime/Communicator.h"
#include "runtime/Corpus.h"
#include "runtime/Engine.h"
#include "runtime/Schedule.h"
#include "runtime/ShardWorld.h"

namespace graphc {

struct TrainOptions {
  ModelConfig model;
  OptimizerConfig optimizer;
  // Anything but constant makes the step read its rate from the input "lr".
  ScheduleConfig schedule;
  IterKind iter = IterKind::Sequential;
  int64_t windowBatches = 0;  // IterKind::Windows: minibatches per epoch (0: the corpus's whole windows)
  uint64_t seed = 0;
  std::string engine = "jit";
  EngineOptions engineOptions;
  // Data parallelism: with a world of N ranks, this process trains rows
  // [rank*B/N, (rank+1)*B/N) of every global minibatch of `model.batchSize`
  // rows (B must divide by N) and carries those rows' state; the gradients and
  // the loss are averaged over the ranks before clipping. nullptr: one process.
  Communicator* world = nullptr;
  // Rows over workers: the batch is cut into `shards` blocks of equal rows,
  // each trained by a worker of its own (a trainer on a thread; a process of
  // the world holds shards/ranks of them) and their gradients summed in an
  // order fixed by the shard count (runtime/ShardWorld.h): the same bits
  // whatever the threads and processes. 0: one shard per process (each
  // process's kernels split their products over its threads instead).
  int64_t shards = 0;
  int threads = 1;  // with shards: how many of a process's shards compute at once
  // The output layer and its loss fused when the logits take this many bytes (driver/Pipeline.h).
  int64_t fuseLossMinBytes = kFuseLinearCrossEntropyMinBytes;
};

struct EpochReport {
  int64_t epoch = 0;          // 1-based
  double perplexity = 0;      // exp of the token-weighted mean loss
  double loss = 0;            // that mean loss (log perplexity)
  double gradNorm = NAN;      // mean over the epoch's steps of the gradient's global norm before clipping
  double valPerplexity = NAN; // on the held-out tail (train --val-fraction), after the epoch
  double valEstimateLoss = NAN;  // nanoGPT's estimate of the validation loss (train --val-estimate)
  double tokensPerSec = 0;    // this epoch's tokens over its step time
  double seconds = 0;         // step time since training began
  double learningRate = NAN;  // the rate of the epoch's last step
  int64_t steps = 0;          // minibatches since training began
  bool complete = true;       // false: stopped after `stepsInEpoch` steps of this epoch
  int64_t stepsInEpoch = 0;
};

class Trainer {
 public:
  Trainer(const ModelDef& model, const TrainOptions& options, const Corpus& corpus);

  // Runs the next epoch, or the rest of one a stop interrupted. When `stop`
  // becomes true it returns after the current step with `complete` false;
  // the next call continues at the following step, exactly as if it had not
  // stopped. Throws if the loss becomes NaN or Inf, naming the epoch and step.
  EpochReport trainEpoch(const std::atomic<bool>* stop = nullptr);

  // Everything a run needs to continue bit for bit: params, optimizer state,
  // carried model state (as tensors), and the counters and RNG (as
  // numbers). Deterministic: no wall-clock time in it. With a world of ranks
  // it is a collective (every rank calls it): the carried state of all rows
  // is gathered, so the snapshot is the one a single process would take and
  // resumes on any number of ranks.
  struct Snapshot {
    TensorMap tensors;
    std::map<std::string, std::string> numbers;
  };
  Snapshot snapshot() const;
  // Continues from a snapshot of a trainer built with the same options (each
  // rank takes its rows of the carried state). Throws naming what does not fit.
  void restore(const Snapshot& s);
  // The tensors a snapshot must hold for restore, checked by their types
  // (typeOf returns nullptr for one missing): throws naming the first that
  // does not fit, the message restore gives. Returns their names. A
  // checkpoint's header is checked so before any tensor is read.
  std::vector<std::string> checkSnapshotTypes(const std::function<const TensorType*(const std::string&)>& typeOf) const;
  int64_t epochsDone() const { return epoch_; }
  // The step of the current epoch that runs next (0 at an epoch's start; more when resumed mid-epoch).
  int64_t nextBatch() const { return nextBatch_; }
  // The plateau schedule's factor so far (1 until validation stalls); kept in snapshots.
  double learningRateScale() const { return lrScale_; }
  void setLearningRateScale(double scale);
  // Minibatches in one epoch (the same every epoch for the sequential iterator, at most for random).
  int64_t batchesPerEpoch() const;
  int64_t stepsDone() const { return steps_; }
  // The batch's shards over all processes (1: one process's rows trained whole), and this process's.
  int64_t shards() const { return ranks_; }
  int64_t localShards() const { return int64_t(peers_.size()) + 1; }

  // The trained params (by param name).
  TensorMap params() const;
  // The same at the end of training: the rest of the engine's memory (the
  // activations, the optimizer's state) is given back first, so the copy
  // costs no more than the training did. The trainer must not step again.
  TensorMap releaseParams();
  // Called with each minibatch's loss (tests and progress use it).
  std::function<void(double)> onStep;
  const Graph& stepGraph() const { return step_; }
  const Engine& engine() const { return *engine_; }
  ~Trainer();

 private:
  // One shard's share of the public calls of the same names: with shards on
  // threads, the lead (this) runs these on every shard at once.
  EpochReport trainShardEpoch(const std::atomic<bool>* stop);
  Snapshot shardSnapshot(bool whole) const;
  void resetModelState();
  bool isCarried(const std::string& name) const;  // model state carried from step to step
  // The carried state's rows: this rank's block of a whole batch, or all of them gathered.
  Tensor myRows(const Tensor& whole) const;
  Tensor allRows(const Tensor& mine) const;
  bool stopAgreed(const std::atomic<bool>* stop) const;
  void checkReplicasAgree() const;
  bool isStepInput(const std::string& name) const;

  TrainOptions options_;
  const Corpus& corpus_;
  // This process's other shards when it trains several (each a trainer of
  // its own, on a thread of the world's), and the world that joins them.
  std::unique_ptr<ShardWorld> shardWorld_;
  std::vector<std::unique_ptr<Trainer>> peers_;
  Graph step_;
  std::unique_ptr<Engine> engine_;
  TensorMap vars_;  // params, optimizer state, model state, and the X/Y inputs
  // The state a snapshot holds (params, optimizer and model state), by type:
  // vars_ loses the resident part to an engine that keeps it.
  std::map<std::string, TensorType> stateTypes_;
  std::vector<std::string> residentNames_;  // params and optimizer state: kept by the engine between steps
  std::vector<std::string> paramNames_, modelStateNames_;
  int rank_ = 0, ranks_ = 1;
  int64_t rowsPerRank_ = 0;  // batch rows this process trains
  mutable TensorMap replicaCheck_;  // the resident params, read back for checkReplicasAgree
  Rng rng_;
  int64_t epoch_ = 0, steps_ = 0;  // epochs completed, steps taken
  double seconds_ = 0;
  double lrScale_ = 1;
  bool usesRandomness_ = false;  // the step reads "rng_key" (dropout)
  // Within an epoch: where its batches were drawn from, the next batch, the sums so far.
  Rng::State epochRng_{};
  int64_t nextBatch_ = 0;
  double lossSum_ = 0;
  int64_t tokens_ = 0;
};

}  // namespace graphc
