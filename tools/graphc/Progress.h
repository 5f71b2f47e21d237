// tools/graphc/Progress.h — progress inside an epoch, for runs whose epochs
// take minutes (a word model on a real corpus): on a terminal a line
// rewritten about once a second (step, %, loss, tokens/s, elapsed, ETA of the
// run); on a pipe a plain line every `pipeEvery` seconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace graphc::cli {

class EpochProgress {
 public:
  EpochProgress(bool terminal, int64_t epochs, int64_t stepsPerEpoch, int64_t tokensPerStep, double pipeEvery = 60);
  // Starts epoch `epoch` (1-based) at step `firstStep` of it (a resumed run mid-epoch).
  void beginEpoch(int64_t epoch, int64_t firstStep);
  // After each step, with its loss; prints when it is time.
  void step(double loss);
  // Clears a terminal line before other output.
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  std::string line() const;
  bool terminal_;
  int64_t epochs_, stepsPerEpoch_, tokensPerStep_;
  double pipeEvery_;
  int64_t epoch_ = 0, stepInEpoch_ = 0, stepsThisRun_ = 0;
  double lossSum_ = 0;
  int64_t lossCount_ = 0;
  Clock::time_point started_ = Clock::now(), lastPrint_;
  bool shown_ = false;
};

// Progress of one long piece of work counted in units (tokens evaluated):
// the same live line on a terminal, plain lines on a pipe.
class WorkProgress {
 public:
  WorkProgress(bool terminal, std::string what, std::string unit, double pipeEvery = 60);
  // `done` of `total` units so far; prints when it is time.
  void update(int64_t done, int64_t total);
  // Clears a terminal line before other output.
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  bool terminal_;
  std::string what_, unit_;
  double pipeEvery_;
  Clock::time_point started_ = Clock::now(), lastPrint_;
  bool shown_ = false;
};

// Progress of work made of named stages (the passes of a compile, the steps
// of an export): on a terminal, a line naming the stage under way and the
// time so far, cleared at the end; on a pipe, a plain line when a stage
// starts `pipeEvery` seconds or more after the last line.
class StageProgress {
 public:
  StageProgress(bool terminal, std::string what, double pipeEvery = 10);
  ~StageProgress() { clear(); }
  StageProgress(const StageProgress&) = delete;
  StageProgress& operator=(const StageProgress&) = delete;
  // `stage` starts; `index` of `count` when the stages are counted (count 0: not counted).
  void stage(const std::string& stage, size_t index = 0, size_t count = 0);
  // Clears a terminal line before other output.
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  bool terminal_;
  std::string what_;
  double pipeEvery_;
  Clock::time_point started_ = Clock::now(), lastPrint_;
  bool shown_ = false;
};

}  // namespace graphc::cli
