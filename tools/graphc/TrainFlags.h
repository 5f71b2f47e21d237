// tools/graphc/TrainFlags.h — what `graphc train` is asked to do: its flags,
// the settings a training checkpoint records of them, and --resume's reading
// of those settings back.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "runtime/Checkpoint.h"
#include "runtime/Trainer.h"
#include "tools/graphc/ModelFlags.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {

struct TrainFlags : ModelFlags {
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  int64_t earlyStop = 0;
  int64_t epochs = 500;
  int64_t maxTokens = 10000;
  double valFraction = 0;
  int64_t valEstimate = 0;  // batches of nanoGPT's validation estimate after each epoch (0: none)
  std::string valData, testData;  // held-out files, read with the training vocabulary
  int64_t minCount = 1;
  std::string vocabFile;
  std::string iter = "sequential";
  int64_t epochSteps = 0;  // --iter windows: minibatches per epoch (0: the corpus's whole windows)
  std::string text = "d2l";
  std::string fusedLoss = "auto";  // driver/Pipeline.h: kFusedLossChoices
  uint64_t seed = 0;
  std::string data;
  std::string engine = "jit";
  std::string cacheDir;
  std::string targetCpu = "host";
  bool noCache = false;
  bool stats = false;
  int threads = 0;
  int64_t shards = 0;  // 0: chosen (TrainRun::chooseShards); the resolved count is recorded in checkpoints
  int64_t sampleEvery = 10;
  int64_t sampleLength = 50;
  std::string samplePrefix;  // empty: "time traveller", or the text's opening when it lacks those characters
  std::string metrics, plot, save, resume;
  int64_t plotEvery = 0;
  int64_t checkpointEvery = 0;
  bool json = false;
  bool distributed = false;
  double rankTimeout = 20;
  std::set<std::string> given;  // the flags the user passed (for --resume's contradiction check)
};

// The hyperparameters a training checkpoint records and --resume checks
// against the flags given with it.
std::map<std::string, std::string> runSettings(const TrainFlags& f);

// The flag a run setting (a key of runSettings) comes from, e.g. "--hidden".
std::string settingFlag(const std::string& key);

// --resume: checks the flags given against the settings the checkpoint
// recorded (a contradiction is refused), takes those settings, and returns
// the epochs it holds (perplexities; wall-clock numbers were never saved).
std::vector<EpochReport> resumeSettings(const Checkpoint& ckpt, TrainFlags& f);

// Beside --save: run.safetensors -> run.best.safetensors.
std::string bestCheckpointPath(const std::string& save);

}  // namespace graphc::cli
