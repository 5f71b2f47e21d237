// tools/graphc/TrainRunSteps.h — the TrainRun class behind runTrain
// (TrainRun.h): one `graphc train` run's state and its steps, defined in
// TrainRun.cpp (the run and its epochs), TrainSetup.cpp (flags, resume, data,
// the trainer) and TrainFinish.cpp (checkpoints, reports, the test, the end).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/Checkpoint.h"
#include "runtime/Communicator.h"
#include "runtime/Corpus.h"
#include "runtime/Decomposition.h"
#include "runtime/Evaluator.h"
#include "runtime/Generator.h"
#include "runtime/Trainer.h"
#include "tools/graphc/EarlyStopping.h"
#include "tools/graphc/TrainFlags.h"

namespace graphc::cli {

class TrainRun {
 public:
  TrainRun(TrainFlags flags, Communicator* world) : f(std::move(flags)), world(world), lead(!world || world->rank() == 0) {}

  void run();

 private:
  TrainFlags f;
  Communicator* world;
  const bool lead;  // rank 0 alone prints, writes metrics, plots and checkpoints; every rank trains
  const ModelDef* model = nullptr;
  std::optional<Checkpoint> resumed;  // --resume: the metadata, then (makeTrainer) the tensors the run needs
  std::optional<CheckpointIndex> resumedIndex;  // its header, until the tensors are read
  std::vector<EpochReport> history;
  std::string dataPath;
  Corpus corpus;
  std::vector<int32_t> valTokens, testTokens;
  std::unique_ptr<Evaluator> evaluator;
  TrainOptions options;
  std::unique_ptr<Trainer> trainer;  // released once training is over (finish)
  TensorMap trained;                 // then: the params it trained
  int64_t stepsAtStart = 0;
  EarlyStopping stopping;  // validation's bookkeeping; the best epoch's checkpoint goes to bestPath
  TensorMap bestParams;
  std::string bestPath;
  std::unique_ptr<Generator> generator;  // one compiled step graph for every sample
  std::string prefix1 = "time traveller", prefix2 = "traveller";
  bool tty = false, earlyStopped = false;
  uint64_t stateBytes = 0;  // one copy of the params, their gradients and optimizer state (announceCost)
  std::string splitWhy;     // why the default split each product over threads it could have given rows

  void checkFlags();

  // --resume: the run's settings come from the checkpoint; a flag that says otherwise is refused.
  void resume();

  void chooseThreads();
  // --shards, the checkpoint's, or (0, the default) the choice of runtime/Decomposition.h.
  Decomposition chooseShards() const;
  // One line: how the batch's rows and the products are split over the workers.
  std::string decompositionText() const;

  // The training text, its vocabulary, and the held-out texts read with it.
  void loadText();

  // A model whose parameters alone need a GiB or more says so before the
  // long compile; one that cannot fit in this machine's memory is refused.
  void announceCost();
  void makeTrainer();

  // The training checkpoint: params, optimizer and model state, counters, RNG,
  // settings and the perplexity of every epoch so far. Deterministic bytes.
  // Every rank takes part (the carried state is gathered); rank 0 writes it.
  void saveTraining(const std::string& path);

  // The metrics CSV and the plot, as far as training got.
  void writeReports(const std::string& state);

  std::string sample(const std::string& prefix);

  // The samples continue --sample-prefix (and its last word), or d2l's
  // prefixes; a text without their characters (--text chars on another
  // book) continues its own opening words instead.
  void choosePrefixes();

  void printStats();

  // The epochs; false when a signal stopped them.
  bool trainEpochs();

  // Validation decides: keep the best parameters, decay a stalled rate, stop
  // early (returned). Ranks follow rank 0.
  bool afterValidation(int64_t e, const EpochReport& r);

  void printEpoch(int64_t e, const EpochReport& r, bool lasting);

  // Stopped by a signal: keep what was done, say where, exit as the signal asks.
  [[noreturn]] void exitStopped();

  // The end of a run: what was trained goes to disk first, then the results.
  void finish();

  // With validation, the test is of the best epoch's parameters (early stopping's model selection).
  Evaluation evaluateTest(const EpochReport& last);

  // The evaluator on `tokens` (all of them, or an estimate when `estimateBatches` > 0), with
  // a progress line named `what` on rank 0: held-out texts of many megabytes take minutes.
  Evaluation evaluateHeldOut(const char* what, const TensorMap& params, const std::vector<int32_t>& tokens,
                             int64_t estimateBatches = 0, Rng* draws = nullptr);

  void printJson(const EpochReport& last, double tokensPerSec, double allReduceMsPerStep, const std::string& sample1,
                 const std::string& sample2, const Evaluation& test);
};

}  // namespace graphc::cli
