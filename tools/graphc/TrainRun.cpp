// tools/graphc/TrainRun.cpp — see TrainRun.h.
#include "tools/graphc/TrainRun.h"

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

class TrainRun {
 public:
  TrainRun(TrainFlags flags, Communicator* world) : f(std::move(flags)), world(world), lead(!world || world->rank() == 0) {}

  void run() {
    checkFlags();
    resume();
    chooseThreads();
    loadText();
    if (world && world->size() > 1)
      checkRanksAgree(*world, trainFingerprint(f, corpus, valTokens, testTokens, resumed ? &*resumed : nullptr));
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

 private:
  TrainFlags f;
  Communicator* world;
  const bool lead;  // rank 0 alone prints, writes metrics, plots and checkpoints; every rank trains
  const ModelDef* model = nullptr;
  std::optional<Checkpoint> resumed;
  std::vector<EpochReport> history;
  std::string dataPath;
  Corpus corpus;
  std::vector<int32_t> valTokens, testTokens;
  std::unique_ptr<Evaluator> evaluator;
  TrainOptions options;
  std::unique_ptr<Trainer> trainer;
  int64_t stepsAtStart = 0;
  EarlyStopping stopping;  // validation's bookkeeping; the best epoch's checkpoint goes to bestPath
  TensorMap bestParams;
  std::string bestPath;
  std::unique_ptr<Generator> generator;  // one compiled step graph for every sample
  std::string prefix1 = "time traveller", prefix2 = "traveller";
  bool tty = false, earlyStopped = false;

  void checkFlags() {
    for (const auto& lib : f.modelLibs) loadModelLibrary(lib);
    for (const auto& setting : f.sets) parseSetting(setting, f.config);
    if (f.earlyStop > 0 && f.valData.empty() && f.valFraction == 0 && f.resume.empty())
      throw Error("--early-stop: needs validation text (--val-data FILE or --val-fraction F)");
    if (f.schedule.kind == "plateau" && f.valData.empty() && f.valFraction == 0 && f.resume.empty())
      throw Error("--lr-schedule plateau: needs validation text (--val-data FILE or --val-fraction F)");
    if (f.checkpointEvery > 0 && f.save.empty())
      throw Error("--checkpoint-every: pass --save FILE.safetensors to say where the checkpoint goes");
    // Output paths are checked now, not after the run.
    if (lead && !f.save.empty()) checkWritable(f.save, "the checkpoint");
    if (lead && !f.metrics.empty()) checkWritable(f.metrics, "the metrics");
    if (lead && !f.plot.empty()) checkWritable(f.plot, "the plot");
  }

  // --resume: the run's settings come from the checkpoint; a flag that says otherwise is refused.
  void resume() {
    if (f.resume.empty()) return;
    resumed = loadCheckpoint(f.resume);
    history = resumeSettings(*resumed, f);
  }

  void chooseThreads() {
    int cores = runtime::usableCpus();
    if (f.threads > cores) {
      // The threads spin between a step's products; more of them than CPUs fight over them.
      if (lead)
        std::cerr << fmt::format("graphc: warning: --threads {} is more than the {} CPUs this process may use; using {}{}\n",
                                 f.threads, cores, cores,
                                 world ? " (mpirun binds each rank to a core; --bind-to none lifts it)" : "");
      f.threads = cores;
    }
    // Ranks on one machine share its CPUs: by default each takes its share of
    // them, within what its binding (mpirun --bind-to) lets it use.
    if (f.threads == 0 && world) {
      int machine = int(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
      f.threads = std::max(1, std::min(cores, machine / std::max(1, launcherLocalSize())));
    }
    runtime::setThreads(f.threads);
  }

  // The training text, its vocabulary, and the held-out texts read with it.
  void loadText() {
    model = &findModel(f.model);
    f.config = withModelDefaults(*model, f.config);
    validate(f.optimizer);
    validate(f.schedule, f.optimizer.learningRate);
    dataPath = resolveDataPath(f.data);
    TextOptions text;
    text.mode = textModeFrom(f.text);
    text.minCount = f.minCount;
    text.vocabFile = f.vocabFile;
    if (resumed && f.given.count("--vocab"))
      throw Error("--vocab: a resumed run keeps its checkpoint's vocabulary (drop the flag to resume)");
    if (text.mode != TextMode::Words && (f.given.count("--min-count") || f.given.count("--vocab")))
      throw Error(fmt::format("{}: applies to --text words only", f.given.count("--vocab") ? "--vocab" : "--min-count"));
    if (resumed && text.mode == TextMode::Words) {
      // The words the run was trained on are the checkpoint's, whatever the text's counts say now.
      text.vocab = readModelInfo(*resumed, f.resume).vocab;
      text.vocabFile.clear();
    }
    corpus = loadCorpus(dataPath, f.maxTokens, text);
    f.config.vocab = corpus.vocab.size();
    if (f.valFraction > 0 && !f.valData.empty())
      throw Error("--val-fraction and --val-data both name validation text; pass one");
    // --val-fraction: the tail of the (cut) corpus is held out and never trained on.
    if (f.valFraction > 0) {
      size_t held = size_t(double(corpus.tokens.size()) * f.valFraction);
      if (held < 2)
        throw Error(fmt::format("--val-fraction {}: holds out {} tokens; evaluation needs at least 2", f.valFraction, held));
      valTokens.assign(corpus.tokens.end() - int64_t(held), corpus.tokens.end());
      corpus.tokens.resize(corpus.tokens.size() - held);
    }
    if (!f.valData.empty()) valTokens = loadHeldOut(f.valData, corpus.vocab, text.mode, "--val-data");
    if (!f.testData.empty()) testTokens = loadHeldOut(f.testData, corpus.vocab, text.mode, "--test-data");
    if (lead && (!valTokens.empty() || !testTokens.empty()))
      evaluator = std::make_unique<Evaluator>(*model, f.config, f.engine, EngineOptions{f.cacheDir, !f.noCache, f.targetCpu});
  }

  void makeTrainer() {
    options.model = f.config;
    options.optimizer = f.optimizer;
    options.schedule = f.schedule;
    options.schedule.epochs = f.epochs;
    options.iter = f.iter == "random" ? IterKind::Random : f.iter == "windows" ? IterKind::Windows : IterKind::Sequential;
    if (f.epochSteps > 0 && f.iter != "windows") throw Error("--epoch-steps: applies to --iter windows only");
    if (f.valEstimate > 0 && f.valData.empty() && f.valFraction == 0)
      throw Error("--val-estimate: there is no validation text (--val-data or --val-fraction)");
    options.windowBatches = f.epochSteps;
    options.seed = f.seed;
    options.engine = f.engine;
    options.engineOptions = {f.cacheDir, !f.noCache, f.targetCpu};
    options.world = world;
    trainer = std::make_unique<Trainer>(*model, options, corpus);
    if (resumed) {
      Trainer::Snapshot snap;
      snap.tensors = resumed->tensors;
      for (const auto& [k, v] : resumed->metadata)
        if (k.rfind("state.", 0) == 0) snap.numbers[k.substr(6)] = v;
      try {
        trainer->restore(snap);
      } catch (const Error& e) {
        throw Error(fmt::format("{}: error: {}", f.resume, e.what()));
      }
      if (int64_t(history.size()) != trainer->epochsDone())
        throw Error(fmt::format("{}: error: the checkpoint records {} perplexities for {} epochs", f.resume,
                                history.size(), trainer->epochsDone()));
      if (f.epochs <= trainer->epochsDone())  // a usage error: exit 2, before anything runs
        throw CLI::ValidationError("--epochs", fmt::format("{} but {} already has {} epoch{}; ask for more to continue "
                                                          "(graphc eval evaluates a checkpoint)",
                                                          f.epochs, f.resume, trainer->epochsDone(),
                                                          trainer->epochsDone() == 1 ? "" : "s"));
    }
    stepsAtStart = trainer->stepsDone();
    stopping.patience = f.earlyStop;
    stopping.plateauWait = f.schedule.kind == "plateau" ? f.schedule.patience : 0;
    std::vector<double> vals;  // replayed over a resumed run's epochs
    for (const auto& r : history) vals.push_back(r.valPerplexity);
    stopping.replay(vals);
  }

  // The training checkpoint: params, optimizer and model state, counters, RNG,
  // settings and the perplexity of every epoch so far. Deterministic bytes.
  // Every rank takes part (the carried state is gathered); rank 0 writes it.
  void saveTraining(const std::string& path) {
    Trainer::Snapshot snap = trainer->snapshot();
    if (!lead) return;
    Checkpoint ckpt;
    ckpt.tensors = snap.tensors;
    std::map<std::string, std::string> meta = runSettings(f);
    meta["training_state"] = "1";
    meta["epochs"] = std::to_string(f.epochs);
    std::vector<double> perplexities;
    for (const auto& r : history) perplexities.push_back(r.perplexity);
    meta["perplexities"] = nlohmann::json(perplexities).dump();
    if (!valTokens.empty()) {
      nlohmann::json vals = nlohmann::json::array();
      for (const auto& r : history)
        vals.push_back(std::isfinite(r.valPerplexity) ? nlohmann::json(r.valPerplexity) : nlohmann::json());
      meta["val_perplexities"] = vals.dump();
    }
    if (!history.empty()) meta["perplexity"] = fmt::format("{:.6f}", history.back().perplexity);
    for (const auto& [k, v] : snap.numbers) meta["state." + k] = v;
    writeModelInfo(ckpt, {f.model, f.config, corpus.vocab}, meta);
    saveCheckpoint(path, ckpt);
  }

  // The metrics CSV and the plot, as far as training got.
  void writeReports(const std::string& state) {
    if (!lead) return;
    // The plot names the data: the seed's book, or the file trained on.
    const std::string dataTitle = f.data.empty() && !std::getenv("GRAPHC_DATA")
                                      ? "The Time Machine"
                                      : std::filesystem::path(dataPath).filename().string();
    if (!f.metrics.empty()) writeOutput(f.metrics, metricsCsv(history, f.optimizer.learningRate));
    if (!f.plot.empty() && !history.empty())
      writeOutput(f.plot, perplexitySvg(history, fmt::format("{} on {} ({} iteration, lr {}){}", f.model, dataTitle, f.iter,
                                                             f.optimizer.learningRate, state)));
  }

  std::string sample(const std::string& prefix) {
    if (!generator)
      generator = std::make_unique<Generator>(*model, f.config, trainer->params(), corpus.vocab, f.engine,
                                              options.engineOptions);
    else generator->setParams(trainer->params());
    return generator->generate(prefix, f.sampleLength);
  }

  // The samples continue --sample-prefix (and its last word), or d2l's
  // prefixes; a text without their characters (--text chars on another
  // book) continues its own opening words instead.
  void choosePrefixes() {
    if (!f.samplePrefix.empty()) {
      if (std::string c = corpus.vocab.firstUnknown(f.samplePrefix); !c.empty())
        throw Error(fmt::format("--sample-prefix: '{}' has '{}', which is not in the vocabulary", escapeForMessage(f.samplePrefix),
                                escapeForMessage(c)));
      prefix1 = f.samplePrefix;
      size_t space = prefix1.find_last_of(' ');
      prefix2 = space == std::string::npos || space + 1 == prefix1.size() ? prefix1 : prefix1.substr(space + 1);
      return;
    }
    if (corpus.vocab.firstUnknown(prefix1).empty()) return;
    std::vector<int32_t> opening(corpus.tokens.begin(), corpus.tokens.begin() + std::min<size_t>(corpus.tokens.size(), 14));
    prefix1 = corpus.vocab.decode(opening);
    opening.erase(opening.begin(), opening.begin() + std::min<size_t>(opening.size(), 5));
    prefix2 = opening.empty() ? prefix1 : corpus.vocab.decode(opening);
  }

  void printStats() {
    if (!f.stats || !lead) return;
    if (auto* jit = dynamic_cast<const JitEngine*>(&trainer->engine()))
      std::cerr << statsText(jit->planned(), {}, jit->report());
    else
      std::cerr << "graphc stats: the interpreter engine compiles nothing\n";
  }

  // The epochs; false when a signal stopped them.
  bool trainEpochs() {
    // Progress goes to stderr (a line that rewrites itself on a terminal); results to stdout.
    tty = isatty(STDERR_FILENO) != 0 && !f.json;
    if (world && world->size() > 1 && lead)
      std::cerr << fmt::format("graphc: data-parallel on {} ranks: each trains {} of the {} rows of a batch with {} thread{}\n",
                               world->size(), f.config.batchSize / world->size(), f.config.batchSize, runtime::threads(),
                               runtime::threads() == 1 ? "" : "s");
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
        r.valPerplexity = evaluator->perplexity(trainer->params(), valTokens);
        if (f.valEstimate > 0) {
          Rng draws((f.seed ^ 0x76616c6573746dULL) + uint64_t(e) * 0x9E3779B97F4A7C15ULL);  // training's draws untouched
          r.valEstimateLoss = evaluator->estimate(trainer->params(), valTokens, f.valEstimate, draws).loss();
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

  // Validation decides: keep the best parameters, decay a stalled rate, stop
  // early (returned). Ranks follow rank 0.
  bool afterValidation(int64_t e, const EpochReport& r) {
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

  void printEpoch(int64_t e, const EpochReport& r, bool lasting) {
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

  // Stopped by a signal: keep what was done, say where, exit as the signal asks.
  [[noreturn]] void exitStopped() {
    if (lead)
      std::cerr << fmt::format("graphc: stopped by {} after {} complete epoch{} (step {} in all)\n",
                               stopSignal == SIGTERM ? "SIGTERM" : stopSignal == SIGHUP ? "SIGHUP" : "Ctrl-C",
                               trainer->epochsDone(), trainer->epochsDone() == 1 ? "" : "s", trainer->stepsDone());
    if (!f.save.empty()) {
      saveTraining(f.save);
      if (lead) std::cerr << fmt::format("graphc: saved the training state to {}; continue with --resume {}\n", f.save, f.save);
    }
    writeReports(", stopped");
    if (world) finishMpi();
    std::exit(128 + (stopSignal ? int(stopSignal) : SIGINT));
  }

  // The end of a run: what was trained goes to disk first, then the results.
  void finish() {
    if (!lead) {
      if (!f.save.empty()) saveTraining(f.save);  // a collective: rank 0 writes it
      finishMpi();
      return;
    }
    // What was trained is on disk before anything that could still fail (samples, the test).
    writeReports("");
    if (!f.save.empty()) saveTraining(f.save);
    const EpochReport& last = history.back();
    // This process's steps over this process's training time (a resumed run counts only its own).
    double tokensPerSec =
        last.seconds > 0 ? double((last.steps - stepsAtStart) * f.config.batchSize * f.config.numSteps) / last.seconds : 0;
    std::string sample1 = sample(prefix1), sample2 = sample(prefix2);
    std::cout << fmt::format("perplexity {:.2f}, {:.0f} tokens/sec on {}\n", last.perplexity, tokensPerSec, f.engine);
    std::cout << sample1 << "\n" << sample2 << "\n";
    if (std::isfinite(last.valPerplexity))
      std::cout << fmt::format("validation perplexity {:.2f} ({} tokens)\n", last.valPerplexity, valTokens.size() - 1);
    Evaluation test = evaluateTest(last);
    if (!f.save.empty()) std::cout << "saved " << f.save << "\n";
    if (world) finishMpi();
    // The all_reduce calls (gradients and loss) of this run's steps, on rank 0.
    AllReduceStats reduced = world ? world->allReduceStats() : AllReduceStats{};
    int64_t stepsRun = std::max<int64_t>(1, last.steps - stepsAtStart);
    double allReduceMsPerStep = reduced.seconds * 1e3 / double(stepsRun);
    if (f.stats && world && world->size() > 1)
      std::cerr << fmt::format("graphc stats: all_reduce {:.3f} ms per step ({:.2f} MB of gradients; waiting for the "
                               "other ranks included), {:.1f}% of the step time\n",
                               allReduceMsPerStep, double(reduced.floats) * 4 / 1e6 / double(stepsRun),
                               100 * reduced.seconds / std::max(1e-9, last.seconds));
    if (f.json) printJson(last, tokensPerSec, allReduceMsPerStep, sample1, sample2, test);
  }

  // With validation, the test is of the best epoch's parameters (early stopping's model selection).
  Evaluation evaluateTest(const EpochReport& last) {
    Evaluation test;
    if (testTokens.empty()) return test;
    if (bestParams.empty() && stopping.bestEpoch > 0 && !bestPath.empty()) bestParams = loadCheckpoint(bestPath).tensors;
    bool best = !bestParams.empty();
    test = evaluator->evaluate(best ? bestParams : trainer->params(), testTokens);
    std::cout << fmt::format("test perplexity {:.2f} ({} tokens; the parameters of epoch {}{})\n", test.perplexity(),
                             test.tokens, best ? stopping.bestEpoch : last.epoch, best ? ", the best on validation" : "");
    return test;
  }

  void printJson(const EpochReport& last, double tokensPerSec, double allReduceMsPerStep, const std::string& sample1,
                 const std::string& sample2, const Evaluation& test) {
    nlohmann::json j = {{"model", f.model},
                        {"ranks", world ? world->size() : 1},
                        {"allreduce_ms_per_step", allReduceMsPerStep},
                        {"engine", f.engine},
                        {"perplexity", last.perplexity},
                        {"tokens_per_sec", tokensPerSec},
                        {"threads", runtime::threads()},
                        {"epochs", f.epochs},
                        {"steps", last.steps},
                        {"seconds", last.seconds},
                        {"sample", sample1},
                        {"sample_traveller", sample2}};
    if (std::isfinite(last.valPerplexity)) j["val_perplexity"] = last.valPerplexity;
    if (stopping.bestEpoch > 0) {
      j["best_val_perplexity"] = stopping.best;
      j["best_epoch"] = stopping.bestEpoch;
      j["early_stopped"] = earlyStopped;
    }
    if (test.tokens > 0) j["test_perplexity"] = test.perplexity();
    std::cout << j.dump() << "\n";
  }
};

}  // namespace

void runTrain(TrainFlags flags) {
  std::unique_ptr<Communicator> world = joinWorldIfLaunched(flags);
  struct Uninstall {
    ~Uninstall() { installCommunicator(nullptr); }
  } uninstall;
  TrainRun(std::move(flags), world.get()).run();
}

}  // namespace graphc::cli
