// tools/graphc/TrainRun.cpp — see TrainRun.h.
#include "tools/graphc/TrainRun.h"
#include "tools/graphc/TrainRunSteps.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "graph/FileIO.h"
#include "runtime/Communicator.h"
#include "runtime/Evaluator.h"
#include "runtime/Generator.h"
#include "runtime/JitEngine.h"
#include "runtime/Threads.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/EarlyStopping.h"
#include "tools/graphc/Plugins.h"
#include "tools/graphc/Progress.h"
#include "tools/graphc/RankAgreement.h"
#include "tools/graphc/Report.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {

bool trainingStarted = false;

namespace {

// Ctrl-C, SIGTERM and SIGHUP: the first asks the loop to stop after the
// current step (it then saves and reports); a second one exits at once.
std::atomic<bool> stopRequested{false};
std::atomic<int> stopSignal{0};
extern "C" void onStopSignal(int sig) {
  if (stopRequested.exchange(true)) _exit(128 + sig);
  stopSignal = sig;
}

std::string formatDuration(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", int(s / 60), int(s) % 60);
  return fmt::format("{}h{:02}m", int(s / 3600), (int(s) % 3600) / 60);
}

// Under mpirun (or --distributed) every rank runs runTrain; this joins them.
std::unique_ptr<Communicator> joinWorldIfLaunched(const TrainFlags& f) {
  int launched = launcherWorldSize();
  if (!f.distributed && launched <= 1) return nullptr;
  if (!builtWithMpi())
    throw Error(fmt::format("{}: error: this graphc was built without MPI, so it trains in one process only (install "
                            "libopenmpi-dev and openmpi-bin, e.g. with scripts/setup.sh, and rebuild)",
                            f.distributed ? "--distributed" : fmt::format("mpirun with {} processes", launched)));
  std::unique_ptr<Communicator> world = joinMpiWorld(f.rankTimeout);
  installCommunicator(world.get());
  return world;
}

std::string valText(const EpochReport& r) {
  if (!std::isfinite(r.valPerplexity)) return "";
  if (std::isfinite(r.valEstimateLoss))
    return fmt::format(" (validation {:.3f}, loss {:.4f}; estimate {:.4f})", r.valPerplexity, std::log(r.valPerplexity),
                       r.valEstimateLoss);
  return fmt::format(" (validation {:.3f})", r.valPerplexity);
}

}  // namespace

void TrainRun::run() {
  checkFlags();
  resume();
  chooseThreads();
  loadText();
  if (world && world->size() > 1)
    checkRanksAgree(*world, trainFingerprint(f, corpus, valTokens, testTokens, resumed ? &*resumed : nullptr));
  announceCost();
  makeTrainer();
  bestPath = f.save.empty() || valTokens.empty() ? "" : bestCheckpointPath(f.save);
  std::signal(SIGINT, onStopSignal);
  std::signal(SIGTERM, onStopSignal);
  std::signal(SIGHUP, onStopSignal);  // the terminal closed: save, as for SIGTERM
  printStats();
  choosePrefixes();
  bool stopped = !trainEpochs();
  if (tty && lead) std::cerr << "\r\033[K";
  if (stopped) exitStopped();
  if (history.empty())
    throw Error(fmt::format("--epochs {}: the checkpoint already has {} epochs", f.epochs, trainer->epochsDone()));
  finish();
}

bool TrainRun::trainEpochs() {
  // Progress goes to stderr (a line that rewrites itself on a terminal); results to stdout.
  tty = isatty(STDERR_FILENO) != 0 && !f.json;
  if (world && world->size() > 1 && lead)
    std::cerr << fmt::format("graphc: data-parallel on {} ranks: each trains {} of the {} rows of a batch with {} thread{}\n",
                             world->size(), f.config.batchSize / world->size(), f.config.batchSize, runtime::threads(),
                             runtime::threads() == 1 ? "" : "s")
              << decompositionText() << "\n";
  // Within an epoch: a live line on a terminal, a line a minute on a pipe (rank 0 only).
  EpochProgress progress(tty, f.epochs, trainer->batchesPerEpoch(), f.config.batchSize * f.config.numSteps);
  if (lead && !f.json) trainer->onStep = [&](double loss) { progress.step(loss); };
  struct Detach {  // the progress line ends with this function
    Trainer& t;
    ~Detach() { t.onStep = nullptr; }
  } detach{*trainer};
  trainingStarted = true;
  for (int64_t e = trainer->epochsDone() + 1; e <= f.epochs; ++e) {
    progress.beginEpoch(e, trainer->nextBatch());
    auto epochStart = std::chrono::steady_clock::now();
    EpochReport r = trainer->trainEpoch(&stopRequested);
    progress.clear();
    if (!r.complete) return false;
    // Epochs of seconds, or with validation, leave a line each on a terminal; the seed's flash by.
    const bool lasting = !valTokens.empty() ||
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - epochStart).count() > 10;
    if (evaluator && !valTokens.empty()) {
      r.valPerplexity = evaluateHeldOut("validation", trainer->params(), valTokens).perplexity();
      if (f.valEstimate > 0) {
        Rng draws((f.seed ^ 0x76616c6573746dULL) + uint64_t(e) * 0x9E3779B97F4A7C15ULL);  // training's draws untouched
        r.valEstimateLoss = evaluateHeldOut("validation estimate", trainer->params(), valTokens, f.valEstimate, &draws).loss();
      }
    }
    history.push_back(r);
    bool stop = afterValidation(e, r);
    if (f.checkpointEvery > 0 && e % f.checkpointEvery == 0 && e < f.epochs) saveTraining(f.save);
    if (f.plotEvery > 0 && e % f.plotEvery == 0 && e < f.epochs) writeReports(fmt::format(", epoch {} of {}", e, f.epochs));
    if (world && world->size() > 1 ? world->anyOf(stopRequested) : bool(stopRequested)) return false;
    if (stop) {
      if (lead)
        std::cerr << fmt::format("{}early stop after epoch {}: validation perplexity {:.3f} at epoch {} has not "
                                 "improved for {} epochs\n",
                                 tty ? "\r\033[K" : "", e, stopping.best, stopping.bestEpoch, f.earlyStop);
      earlyStopped = true;
      return true;
    }
    if (lead) printEpoch(e, r, lasting);
  }
  return true;
}

bool TrainRun::afterValidation(int64_t e, const EpochReport& r) {
  EarlyStopping::Decision d = stopping.observe(e, r.valPerplexity);
  if (world && world->size() > 1) {
    d.improved = world->anyOf(d.improved);  // saving is a collective
    d.decay = world->anyOf(d.decay);
    d.stop = world->anyOf(d.stop);
  }
  if (d.improved && !testTokens.empty()) bestParams = trainer->params();
  if (d.improved && !bestPath.empty()) saveTraining(bestPath);
  if (d.decay) trainer->setLearningRateScale(trainer->learningRateScale() * f.schedule.factor);
  if (d.decay && lead)
    std::cerr << fmt::format("{}epoch {}: validation has not improved for {} epoch(s); learning rate now {:.4g}\n",
                             tty ? "\r\033[K" : "", e, f.schedule.patience,
                             learningRateAt(f.schedule, f.optimizer.learningRate, trainer->stepsDone(),
                                            trainer->learningRateScale()));
  return d.stop;
}

void TrainRun::printEpoch(int64_t e, const EpochReport& r, bool lasting) {
  bool sampleNow = f.sampleEvery > 0 && (e % f.sampleEvery == 0);
  if (tty) {
    double eta = r.seconds / double(e - trainer->epochsDone() + int64_t(history.size())) * double(f.epochs - e);
    if (!std::isfinite(eta) || eta < 0) eta = 0;
    std::cerr << fmt::format("\r\033[Kepoch {}/{} | perplexity {:.3f}{} | {:.0f} tokens/s | ETA {}", e, f.epochs,
                             r.perplexity, valText(r), r.tokensPerSec, formatDuration(eta))
              << (lasting ? "\n" : "") << std::flush;
    if (sampleNow) std::cerr << "\r\033[K" << fmt::format("epoch {}: {}\n", e, sample(prefix1));
  } else if (sampleNow || e == 1 || e == f.epochs || !valTokens.empty()) {
    std::cerr << fmt::format("epoch {}/{}  perplexity {:.3f}{}  {:.0f} tokens/s  {:.1f}s", e, f.epochs, r.perplexity,
                             valText(r), r.tokensPerSec, r.seconds);
    std::cerr << (sampleNow ? "  " + sample(prefix1) : std::string()) << "\n" << std::flush;
  }
}

void TrainRun::exitStopped() {
  if (lead)
    std::cerr << fmt::format("graphc: stopped by {} after {} complete epoch{}{} ({} step{} in all)\n",
                             stopSignal == SIGTERM ? "SIGTERM" : stopSignal == SIGHUP ? "SIGHUP" : "Ctrl-C",
                             trainer->epochsDone(), trainer->epochsDone() == 1 ? "" : "s",
                             trainer->nextBatch() > 0 ? fmt::format(" and {} step{} of epoch {}", trainer->nextBatch(),
                                                                    trainer->nextBatch() == 1 ? "" : "s",
                                                                    trainer->epochsDone() + 1)
                                                      : "",
                             trainer->stepsDone(), trainer->stepsDone() == 1 ? "" : "s");
  if (!f.save.empty()) {
    saveTraining(f.save);
    if (lead) std::cerr << fmt::format("graphc: saved the training state to {}; continue with --resume {}\n", f.save, f.save);
  }
  writeReports(", stopped");
  if (world) finishMpi();
  std::exit(128 + (stopSignal ? int(stopSignal) : SIGINT));
}

void runTrain(TrainFlags flags) {
  std::unique_ptr<Communicator> world = joinWorldIfLaunched(flags);
  struct Uninstall {
    ~Uninstall() { installCommunicator(nullptr); }
  } uninstall;
  TrainRun(std::move(flags), world.get()).run();
}

Evaluation TrainRun::evaluateHeldOut(const char* what, const TensorMap& params, const std::vector<int32_t>& tokens,
                                     int64_t estimateBatches, Rng* draws) {
  WorkProgress progress(tty, what, "tokens");
  if (lead && !f.json) evaluator->onProgress([&](int64_t done, int64_t total) { progress.update(done, total); });
  struct Detach {  // the line ends with this function, thrown or not
    Evaluator& e;
    WorkProgress& p;
    ~Detach() {
      e.onProgress(nullptr);
      p.clear();
    }
  } detach{*evaluator, progress};
  return estimateBatches > 0 ? evaluator->estimate(params, tokens, estimateBatches, *draws)
                             : evaluator->evaluate(params, tokens);
}

}  // namespace graphc::cli
