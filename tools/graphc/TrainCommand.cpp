// tools/graphc/TrainCommand.cpp — `graphc train`: the seed setup by default.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <optional>
#include <set>
#include <unistd.h>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "graph/FileIO.h"
#include "runtime/Communicator.h"
#include "runtime/Evaluator.h"
#include "runtime/Generator.h"
#include "runtime/JitEngine.h"
#include "runtime/Threads.h"
#include "runtime/Trainer.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/EarlyStopping.h"
#include "tools/graphc/Progress.h"
#include "tools/graphc/Plugins.h"
#include "tools/graphc/Report.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {
namespace {

struct TrainFlags {
  std::string model = "rnn-scratch";
  std::vector<std::string> modelLibs;
  ModelConfig config = configWithModelDefaults();
  std::vector<std::string> sets;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  int64_t earlyStop = 0;
  int64_t epochs = 500;
  int64_t maxTokens = 10000;
  double valFraction = 0;
  std::string valData, testData;  // held-out files, read with the training vocabulary
  int64_t minCount = 1;
  std::string vocabFile;
  std::string iter = "sequential";
  std::string text = "d2l";
  uint64_t seed = 0;
  std::string data;
  std::string engine = "jit";
  std::string cacheDir;
  std::string targetCpu = "host";
  bool noCache = false;
  bool stats = false;
  int threads = 0;
  int64_t sampleEvery = 10;
  int64_t sampleLength = 50;
  std::string metrics, plot, save, resume;
  int64_t plotEvery = 0;
  int64_t checkpointEvery = 0;
  bool json = false;
  bool distributed = false;
  double rankTimeout = 20;
  std::set<std::string> given;  // the flags the user passed (for --resume's contradiction check)
};

// Ctrl-C and SIGTERM: the first asks the loop to stop after the current step
// (it then saves and reports); a second one exits at once.
std::atomic<bool> stopRequested{false};
std::atomic<int> stopSignal{0};
// Set when the first step is about to run: before it, every rank checks the
// same flags and files, so only rank 0 reports what they all found.
bool trainingStarted = false;
extern "C" void onStopSignal(int sig) {
  if (stopRequested.exchange(true)) _exit(128 + sig);
  stopSignal = sig;
}

// The hyperparameters a training checkpoint records and --resume checks
// against the flags given with it.
std::map<std::string, std::string> runSettings(const TrainFlags& f) {
  return {{"model", f.model},
          {"hidden", std::to_string(f.config.hidden)},
          {"num_layers", std::to_string(f.config.numLayers)},
          {"batch_size", std::to_string(f.config.batchSize)},
          {"num_steps", std::to_string(f.config.numSteps)},
          {"optimizer", f.optimizer.kind},
          {"lr", fmt::format("{}", f.optimizer.learningRate)},
          {"clip", fmt::format("{}", f.optimizer.clipNorm)},
          {"momentum", fmt::format("{}", f.optimizer.momentum)},
          {"iter", f.iter},
          {"seed", std::to_string(f.seed)},
          {"max_tokens", std::to_string(f.maxTokens)},
          {"val_fraction", fmt::format("{}", f.valFraction)},
          {"text", f.text},
          {"min_count", std::to_string(f.minCount)},
          {"weight_decay", fmt::format("{}", f.optimizer.weightDecay)},
          {"lr_schedule", f.schedule.kind},
          {"lr_decay_rate", fmt::format("{}", f.schedule.decayRate)},
          {"warmup", std::to_string(f.schedule.warmup)},
          {"min_lr", fmt::format("{}", f.schedule.minLr)},
          {"lr_factor", fmt::format("{}", f.schedule.factor)},
          {"lr_patience", std::to_string(f.schedule.patience)},
          {"early_stop", std::to_string(f.earlyStop)},
          {"settings", nlohmann::json(f.config.settings).dump()}};
}

// The flag each setting comes from.
const std::map<std::string, std::string> kSettingFlags = {
    {"model", "--model"},         {"hidden", "--hidden"},       {"num_layers", "--num-layers"},
    {"batch_size", "--batch-size"}, {"num_steps", "--num-steps"}, {"optimizer", "--optimizer"},
    {"lr", "--lr"},               {"clip", "--clip"},           {"momentum", "--momentum"},
    {"iter", "--iter"},           {"seed", "--seed"},           {"max_tokens", "--max-tokens"},
    {"text", "--text"},           {"settings", "--set"},       {"val_fraction", "--val-fraction"},
    {"min_count", "--min-count"}, {"weight_decay", "--weight-decay"}, {"lr_schedule", "--lr-schedule"},
    {"lr_decay_rate", "--lr-decay-rate"}, {"warmup", "--warmup"}, {"min_lr", "--min-lr"},
    {"lr_factor", "--lr-factor"}, {"lr_patience", "--lr-patience"}, {"early_stop", "--early-stop"}};

// Beside --save: run.safetensors -> run.best.safetensors.
std::string bestCheckpointPath(const std::string& save) {
  const std::string ext = ".safetensors";
  if (save.size() > ext.size() && save.compare(save.size() - ext.size(), ext.size(), ext) == 0)
    return save.substr(0, save.size() - ext.size()) + ".best" + ext;
  return save + ".best";
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

// A setting a --resume checkpoint recorded. Settings added after the first
// checkpoints default to the value every run had before they existed
// (checkpoints from before --text were all d2l's cleaning); others must be there.
std::string recordedSetting(const std::map<std::string, std::string>& meta, const std::string& key,
                            const std::string& path) {
  static const std::map<std::string, std::string> kBefore = {
      {"text", "d2l"},        {"settings", "{}"},   {"val_fraction", "0"}, {"min_count", "1"},
      {"weight_decay", "0"},  {"lr_schedule", "constant"}, {"lr_decay_rate", "0"}, {"warmup", "0"},
      {"min_lr", "0"},        {"lr_factor", "0.25"}, {"lr_patience", "1"},  {"early_stop", "0"}};
  if (auto it = meta.find(key); it != meta.end()) return it->second;
  if (auto it = kBefore.find(key); it != kBefore.end()) return it->second;
  throw Error(fmt::format("{}: error: the checkpoint does not record '{}'", path, key));
}

// The settings a --resume checkpoint recorded, read strictly: each is a
// number in the range its flag accepts ("16junk", -1 or 1e999 name the key).
void readResumedSettings(const std::map<std::string, std::string>& meta, TrainFlags& f) {
  auto bad = [&](const std::string& key, const std::string& v, const std::string& what) {
    return Error(fmt::format("{}: error: the checkpoint's {} is '{}', not {}", f.resume, key, escapeForMessage(v), what));
  };
  auto text = [&](const std::string& key) { return recordedSetting(meta, key, f.resume); };
  auto whole = [&](const std::string& key, uint64_t lo, uint64_t hi) {
    std::string v = text(key);
    uint64_t x = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc() || end != v.data() + v.size() || x < lo || x > hi)
      throw bad(key, v, fmt::format("a whole number in {}..{}", lo, hi));
    return x;
  };
  auto number = [&](const std::string& key, double lo, double hi) {
    std::string v = text(key);
    double x = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(x) || x < lo || x > hi)
      throw bad(key, v, fmt::format("a number in [{}, {}]", lo, hi));
    return x;
  };
  auto oneOf = [&](const std::string& key, const std::vector<std::string>& allowed) {
    std::string v = text(key);
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
      throw bad(key, v, fmt::format("one of {}", fmt::join(allowed, ", ")));
    return v;
  };
  constexpr uint64_t kMany = uint64_t(1) << 40;
  f.model = text("model");
  f.config.hidden = int64_t(whole("hidden", 1, 1 << 14));
  f.config.numLayers = int64_t(whole("num_layers", 1, 16));
  f.config.batchSize = int64_t(whole("batch_size", 1, 1 << 16));
  f.config.numSteps = int64_t(whole("num_steps", 1, 1 << 12));
  f.optimizer.kind = oneOf("optimizer", {"sgd", "momentum", "adam", "adamw"});
  f.optimizer.learningRate = number("lr", 1e-38, 3e38);
  f.optimizer.clipNorm = number("clip", 0, 3e38);
  f.optimizer.momentum = number("momentum", 0, 1);
  f.iter = oneOf("iter", {"sequential", "random"});
  f.text = oneOf("text", {"d2l", "chars", "words"});
  f.minCount = int64_t(whole("min_count", 1, kMany));
  f.optimizer.weightDecay = number("weight_decay", 0, 1e3);
  f.schedule.kind = oneOf("lr_schedule", {"constant", "inverse-time", "cosine", "plateau"});
  f.schedule.decayRate = number("lr_decay_rate", 0, 1e6);
  f.schedule.warmup = int64_t(whole("warmup", 0, kMany));
  f.schedule.minLr = number("min_lr", 0, 3e38);
  f.schedule.factor = number("lr_factor", 1e-38, 0.999999);
  f.schedule.patience = int64_t(whole("lr_patience", 1, 1 << 30));
  f.earlyStop = int64_t(whole("early_stop", 0, 1 << 30));
  try {
    f.config.settings = nlohmann::json::parse(text("settings")).get<std::map<std::string, double>>();
  } catch (const std::exception&) {
    throw bad("settings", text("settings"), "a JSON object of numbers");
  }
  f.seed = whole("seed", 0, UINT64_MAX);
  f.maxTokens = int64_t(whole("max_tokens", 0, kMany));
  f.valFraction = number("val_fraction", 0, 0.9);
}

// --resume: checks the flags given against the settings the checkpoint
// recorded (a contradiction is refused), takes those settings, and returns
// the epochs it holds (perplexities; wall-clock numbers were never saved).
std::vector<EpochReport> resumeSettings(const Checkpoint& ckpt, TrainFlags& f) {
  std::vector<EpochReport> history;
  const auto& meta = ckpt.metadata;
  auto it = meta.find("training_state");
  if (it == meta.end() || it->second != "1")
    throw Error(fmt::format("{}: error: not a training checkpoint (it holds parameters only; train with --save or "
                            "--checkpoint-every to write one that resumes)",
                            f.resume));
  TrainFlags given = f;
  for (const auto& [key, flag] : kSettingFlags) {
    std::string recorded = recordedSetting(meta, key, f.resume);
    std::string mine = runSettings(given).at(key);
    if (key == "settings") {  // each --set given must agree with what the checkpoint recorded
      auto recordedSettings = nlohmann::json::parse(recorded).get<std::map<std::string, double>>();
      for (const auto& [name, value] : given.config.settings)
        if (!recordedSettings.count(name) || recordedSettings.at(name) != value)
          throw Error(fmt::format("--set {}={} but the checkpoint was trained with {} (drop the flag to resume)", name,
                                  value, recordedSettings.count(name) ? fmt::format("{}={}", name, recordedSettings.at(name))
                                                                      : "no such setting"));
      continue;
    }
    if (f.given.count(flag) && mine != recorded && !(key == "hidden" && given.config.hidden == 0) &&
        !(key == "num_layers" && given.config.numLayers == 0))
      throw Error(fmt::format("{}: {} but the checkpoint was trained with {} (drop the flag to resume)", flag,
                              escapeForMessage(mine), escapeForMessage(recorded)));
  }
  readResumedSettings(meta, f);
  std::vector<double> valPerplexities;
  if (meta.count("val_perplexities"))
    for (const auto& v : nlohmann::json::parse(meta.at("val_perplexities")))
      valPerplexities.push_back(v.is_number() ? v.get<double>() : NAN);
  for (const auto& row : nlohmann::json::parse(meta.at("perplexities"))) {
    EpochReport r;
    r.epoch = int64_t(history.size()) + 1;
    r.perplexity = row.get<double>();
    if (history.size() < valPerplexities.size()) r.valPerplexity = valPerplexities[history.size()];
    r.tokensPerSec = std::nan("");  // wall-clock numbers stay out of checkpoints: they would not repeat
    r.seconds = std::nan("");
    history.push_back(r);
  }
  return history;
}

void runTrain(TrainFlags f) {
  std::unique_ptr<Communicator> world = joinWorldIfLaunched(f);
  struct Uninstall {
    ~Uninstall() { installCommunicator(nullptr); }
  } uninstall;
  // Rank 0 alone prints, writes metrics, plots and checkpoints; every rank trains.
  const bool lead = !world || world->rank() == 0;
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
  // --resume: the run's settings come from the checkpoint; a flag that says otherwise is refused.
  std::optional<Checkpoint> resumed;
  std::vector<EpochReport> history;
  if (!f.resume.empty()) {
    resumed = loadCheckpoint(f.resume);
    history = resumeSettings(*resumed, f);
  }
  int cores = runtime::usableCpus();
  if (f.threads > cores) {
    // The threads spin between a step's products; more of them than CPUs fight over them.
    if (lead)
      std::cerr << fmt::format("graphc: warning: --threads {} is more than the {} CPUs this process may use; using {}{}\n",
                               f.threads, cores, cores, world ? " (mpirun binds each rank to a core; --bind-to none lifts it)" : "");
    f.threads = cores;
  }
  // Ranks on one machine share its CPUs: by default each takes its share of
  // them, within what its binding (mpirun --bind-to) lets it use.
  if (f.threads == 0 && world) {
    int machine = int(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    f.threads = std::max(1, std::min(cores, machine / std::max(1, launcherLocalSize())));
  }
  runtime::setThreads(f.threads);
  const ModelDef& model = findModel(f.model);
  f.config = withModelDefaults(model, f.config);
  validate(f.optimizer);
  validate(f.schedule, f.optimizer.learningRate);
  std::string dataPath = resolveDataPath(f.data);
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
  Corpus corpus = loadCorpus(dataPath, f.maxTokens, text);
  f.config.vocab = corpus.vocab.size();
  if (f.valFraction > 0 && !f.valData.empty())
    throw Error("--val-fraction and --val-data both name validation text; pass one");
  // --val-fraction: the tail of the (cut) corpus is held out and never trained on.
  std::vector<int32_t> valTokens, testTokens;
  if (f.valFraction > 0) {
    size_t held = size_t(double(corpus.tokens.size()) * f.valFraction);
    if (held < 2)
      throw Error(fmt::format("--val-fraction {}: holds out {} tokens; evaluation needs at least 2", f.valFraction, held));
    valTokens.assign(corpus.tokens.end() - int64_t(held), corpus.tokens.end());
    corpus.tokens.resize(corpus.tokens.size() - held);
  }
  if (!f.valData.empty()) valTokens = loadHeldOut(f.valData, corpus.vocab, text.mode, "--val-data");
  if (!f.testData.empty()) testTokens = loadHeldOut(f.testData, corpus.vocab, text.mode, "--test-data");
  std::unique_ptr<Evaluator> evaluator;
  if (lead && (!valTokens.empty() || !testTokens.empty()))
    evaluator = std::make_unique<Evaluator>(model, f.config, f.engine, EngineOptions{f.cacheDir, !f.noCache, f.targetCpu});

  TrainOptions options;
  options.model = f.config;
  options.optimizer = f.optimizer;
  options.schedule = f.schedule;
  options.schedule.epochs = f.epochs;
  options.iter = f.iter == "random" ? IterKind::Random : IterKind::Sequential;
  options.seed = f.seed;
  options.engine = f.engine;
  options.engineOptions = {f.cacheDir, !f.noCache, f.targetCpu};
  options.world = world.get();
  Trainer trainer(model, options, corpus);
  if (resumed) {
    Trainer::Snapshot snap;
    snap.tensors = resumed->tensors;
    for (const auto& [k, v] : resumed->metadata)
      if (k.rfind("state.", 0) == 0) snap.numbers[k.substr(6)] = v;
    try {
      trainer.restore(snap);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: error: {}", f.resume, e.what()));
    }
    if (int64_t(history.size()) != trainer.epochsDone())
      throw Error(fmt::format("{}: error: the checkpoint records {} perplexities for {} epochs", f.resume,
                              history.size(), trainer.epochsDone()));
    if (f.epochs <= trainer.epochsDone())  // a usage error: exit 2, before anything runs
      throw CLI::ValidationError("--epochs", fmt::format("{} but {} already has {} epoch{}; ask for more to continue "
                                                        "(graphc eval evaluates a checkpoint)",
                                                        f.epochs, f.resume, trainer.epochsDone(),
                                                        trainer.epochsDone() == 1 ? "" : "s"));
  }
  // The training checkpoint: params, optimizer and model state, counters, RNG,
  // settings and the perplexity of every epoch so far. Deterministic bytes.
  // Every rank takes part (the carried state is gathered); rank 0 writes it.
  auto saveTraining = [&](const std::string& path) {
    Trainer::Snapshot snap = trainer.snapshot();
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
      for (const auto& r : history) vals.push_back(std::isfinite(r.valPerplexity) ? nlohmann::json(r.valPerplexity) : nlohmann::json());
      meta["val_perplexities"] = vals.dump();
    }
    if (!history.empty()) meta["perplexity"] = fmt::format("{:.6f}", history.back().perplexity);
    for (const auto& [k, v] : snap.numbers) meta["state." + k] = v;
    writeModelInfo(ckpt, {f.model, f.config, corpus.vocab}, meta);
    saveCheckpoint(path, ckpt);
  };
  const int64_t stepsAtStart = trainer.stepsDone();
  // Validation's bookkeeping, replayed over a resumed run's epochs; the best
  // epoch's checkpoint goes beside --save (NAME.best.safetensors).
  EarlyStopping stopping;
  stopping.patience = f.earlyStop;
  stopping.plateauWait = f.schedule.kind == "plateau" ? f.schedule.patience : 0;
  {
    std::vector<double> vals;
    for (const auto& r : history) vals.push_back(r.valPerplexity);
    stopping.replay(vals);
  }
  TensorMap bestParams;
  const std::string bestPath = f.save.empty() || valTokens.empty() ? "" : bestCheckpointPath(f.save);
  std::signal(SIGINT, onStopSignal);
  std::signal(SIGTERM, onStopSignal);
  std::signal(SIGHUP, onStopSignal);  // the terminal closed: save, as for SIGTERM
  if (f.stats && lead) {
    if (auto* jit = dynamic_cast<const JitEngine*>(&trainer.engine()))
      std::cerr << statsText(jit->planned(), {}, jit->report());
    else
      std::cerr << "graphc stats: the interpreter engine compiles nothing\n";
  }

  // One generator (one compiled step graph), given the current params before each sample.
  std::unique_ptr<Generator> generator;
  auto sample = [&](const std::string& prefix) {
    if (!generator) generator = std::make_unique<Generator>(model, f.config, trainer.params(), corpus.vocab, f.engine,
                                                            options.engineOptions);
    else generator->setParams(trainer.params());
    return generator->generate(prefix, f.sampleLength);
  };
  // The plot names the data: the seed's book, or the file trained on.
  const std::string dataTitle =
      f.data.empty() && !std::getenv("GRAPHC_DATA") ? "The Time Machine" : std::filesystem::path(dataPath).filename().string();
  // The metrics CSV and the plot, as far as training got.
  auto writeReports = [&](const std::string& state) {
    if (!lead) return;
    if (!f.metrics.empty()) writeOutput(f.metrics, metricsCsv(history, f.optimizer.learningRate));
    if (!f.plot.empty() && !history.empty())
      writeOutput(f.plot, perplexitySvg(history, fmt::format("{} on {} ({} iteration, lr {}){}", f.model, dataTitle, f.iter,
                                                             f.optimizer.learningRate, state)));
  };
  // The samples continue d2l's prefixes; a text without their characters
  // (--text chars on another book) continues its own opening words instead.
  std::string prefix1 = "time traveller", prefix2 = "traveller";
  if (!corpus.vocab.firstUnknown(prefix1).empty()) {
    std::vector<int32_t> opening(corpus.tokens.begin(), corpus.tokens.begin() + std::min<size_t>(corpus.tokens.size(), 14));
    prefix1 = corpus.vocab.decode(opening);
    opening.erase(opening.begin(), opening.begin() + std::min<size_t>(opening.size(), 5));
    prefix2 = opening.empty() ? prefix1 : corpus.vocab.decode(opening);
  }
  // Progress goes to stderr (a line that rewrites itself on a terminal); results to stdout.
  const bool tty = isatty(STDERR_FILENO) != 0 && !f.json;
  if (world && world->size() > 1 && lead)
    std::cerr << fmt::format("graphc: data-parallel on {} ranks: each trains {} of the {} rows of a batch with {} thread{}\n",
                             world->size(), f.config.batchSize / world->size(), f.config.batchSize, runtime::threads(),
                             runtime::threads() == 1 ? "" : "s");
  auto valText = [](const EpochReport& r) {
    return std::isfinite(r.valPerplexity) ? fmt::format(" (validation {:.3f})", r.valPerplexity) : std::string();
  };
  bool interrupted = false, earlyStopped = false;
  // Within an epoch: a live line on a terminal, a line a minute on a pipe (rank 0 only).
  EpochProgress progress(tty, f.epochs, trainer.batchesPerEpoch(), f.config.batchSize * f.config.numSteps);
  if (lead && !f.json) trainer.onStep = [&](double loss) { progress.step(loss); };
  trainingStarted = true;
  for (int64_t e = trainer.epochsDone() + 1; e <= f.epochs; ++e) {
    progress.beginEpoch(e, trainer.nextBatch());
    auto epochStart = std::chrono::steady_clock::now();
    EpochReport r = trainer.trainEpoch(&stopRequested);
    progress.clear();
    // Epochs of seconds, or with validation, leave a line each on a terminal; the seed's flash by.
    const bool lasting = !valTokens.empty() ||
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - epochStart).count() > 10;
    if (!r.complete) {
      interrupted = true;
      break;
    }
    if (evaluator && !valTokens.empty()) r.valPerplexity = evaluator->perplexity(trainer.params(), valTokens);
    history.push_back(r);
    // Validation decides: keep the best parameters, decay a stalled rate, stop early. Ranks follow rank 0.
    EarlyStopping::Decision d = stopping.observe(e, r.valPerplexity);
    if (world && world->size() > 1) {
      d.improved = world->anyOf(d.improved);  // saving is a collective
      d.decay = world->anyOf(d.decay);
      d.stop = world->anyOf(d.stop);
    }
    if (d.improved && !testTokens.empty()) bestParams = trainer.params();
    if (d.improved && !bestPath.empty()) saveTraining(bestPath);
    if (d.decay) trainer.setLearningRateScale(trainer.learningRateScale() * f.schedule.factor);
    if (d.decay && lead)
      std::cerr << fmt::format("{}epoch {}: validation has not improved for {} epoch(s); learning rate now {:.4g}\n",
                               tty ? "\r\033[K" : "", e, f.schedule.patience,
                               learningRateAt(f.schedule, f.optimizer.learningRate, trainer.stepsDone(), trainer.learningRateScale()));
    if (f.checkpointEvery > 0 && e % f.checkpointEvery == 0 && e < f.epochs) saveTraining(f.save);
    if (f.plotEvery > 0 && e % f.plotEvery == 0 && e < f.epochs) writeReports(fmt::format(", epoch {} of {}", e, f.epochs));
    bool sampleNow = lead && f.sampleEvery > 0 && (e % f.sampleEvery == 0);
    if (world && world->size() > 1 ? world->anyOf(stopRequested) : bool(stopRequested)) {
      interrupted = true;
      break;
    }
    if (d.stop) {
      if (lead)
        std::cerr << fmt::format("{}early stop after epoch {}: validation perplexity {:.3f} at epoch {} has not improved for "
                                 "{} epochs\n",
                                 tty ? "\r\033[K" : "", e, stopping.best, stopping.bestEpoch, f.earlyStop);
      earlyStopped = true;
      break;
    }
    if (!lead) continue;
    if (tty) {
      double eta = r.seconds / double(e - trainer.epochsDone() + int64_t(history.size())) * double(f.epochs - e);
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
  if (tty && lead) std::cerr << "\r\033[K";
  if (interrupted) {
    // Stopped by a signal: keep what was done, say where, exit as the signal asks.
    if (lead)
      std::cerr << fmt::format("graphc: stopped by {} after {} complete epoch{} (step {} in all)\n",
                             stopSignal == SIGTERM ? "SIGTERM" : stopSignal == SIGHUP ? "SIGHUP" : "Ctrl-C",
                             trainer.epochsDone(),
                             trainer.epochsDone() == 1 ? "" : "s", trainer.stepsDone());
    if (!f.save.empty()) {
      saveTraining(f.save);
      if (lead) std::cerr << fmt::format("graphc: saved the training state to {}; continue with --resume {}\n", f.save, f.save);
    }
    writeReports(", stopped");
    if (world) finishMpi();
    std::exit(128 + (stopSignal ? int(stopSignal) : SIGINT));
  }
  if (history.empty()) throw Error(fmt::format("--epochs {}: the checkpoint already has {} epochs", f.epochs, trainer.epochsDone()));


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
  Evaluation test;
  if (!testTokens.empty()) {
    // With validation, the test is of the best epoch's parameters (early stopping's model selection).
    if (bestParams.empty() && stopping.bestEpoch > 0 && !bestPath.empty()) bestParams = loadCheckpoint(bestPath).tensors;
    bool best = !bestParams.empty();
    test = evaluator->evaluate(best ? bestParams : trainer.params(), testTokens);
    std::cout << fmt::format("test perplexity {:.2f} ({} tokens; the parameters of epoch {}{})\n", test.perplexity(), test.tokens,
                             best ? stopping.bestEpoch : last.epoch, best ? ", the best on validation" : "");
  }

  if (!f.save.empty()) std::cout << "saved " << f.save << "\n";
  if (world) finishMpi();
  // The all_reduce calls (gradients and loss) of this run's steps, on rank 0.
  AllReduceStats reduced = world ? world->allReduceStats() : AllReduceStats{};
  int64_t stepsRun = std::max<int64_t>(1, last.steps - stepsAtStart);
  double allReduceMsPerStep = reduced.seconds * 1e3 / double(stepsRun);
  if (f.stats && world && world->size() > 1)
    std::cerr << fmt::format("graphc stats: all_reduce {:.3f} ms per step ({:.2f} MB of gradients; waiting for the other "
                             "ranks included), {:.1f}% of the step time\n",
                             allReduceMsPerStep, double(reduced.floats) * 4 / 1e6 / double(stepsRun),
                             100 * reduced.seconds / std::max(1e-9, last.seconds));
  if (f.json) {
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
}

}  // namespace

void addTrainCommand(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train", "Train a language model on The Time Machine (the seed setup by default)");
  cmd->add_option("--model", f->model, "Model to train (see `graphc models`)")->capture_default_str();
  addModelLibFlag(cmd, f->modelLibs);
  cmd->add_option("--num-layers", f->config.numLayers, "Stacked recurrent layers (default: the model's; see `graphc models`)")
      ->check(CLI::Range(1, 16));
  cmd->add_option("--set", f->sets, "A hyperparameter of the model, NAME=VALUE (repeatable; see `graphc models`)");
  cmd->add_option("--batch-size", f->config.batchSize, "Minibatch size")->check(CLI::Range(1, 1 << 16))->capture_default_str();
  cmd->add_option("--num-steps", f->config.numSteps, "Time steps per minibatch (truncated BPTT length)")
      ->check(CLI::Range(1, 1 << 12))
      ->capture_default_str();
  cmd->add_option("--hidden", f->config.hidden, "Hidden units (default: the model's; 512 for rnn-scratch)")
      ->check(CLI::Range(1, 1 << 14));
  cmd->add_option("--epochs", f->epochs, "Epochs")->check(CLI::Range(int64_t(1), int64_t(1) << 30))->capture_default_str();
  cmd->add_option("--lr", f->optimizer.learningRate, "Learning rate (> 0)")
      ->check(finiteNumber(0, 3e38))
      ->capture_default_str();
  cmd->add_option("--clip", f->optimizer.clipNorm, "Clip gradients to this global norm (0: no clipping)")
      ->check(finiteNumber(0, 3e38))
      ->capture_default_str();
  cmd->add_option("--optimizer", f->optimizer.kind, "sgd, momentum, adam or adamw (Adam with decoupled weight decay)")
      ->check(CLI::IsMember({"sgd", "momentum", "adam", "adamw"}))
      ->capture_default_str();
  cmd->add_option("--weight-decay", f->optimizer.weightDecay,
                  "Decay weights and embeddings, not biases: L2 added to the gradient (adamw: decoupled, p -= lr wd p)")
      ->check(finiteNumber(0, 1e3))
      ->capture_default_str();
  cmd->add_option("--lr-schedule", f->schedule.kind,
                  "constant, inverse-time (lr / (1 + r t), r from --lr-decay-rate), cosine (to --min-lr at the last "
                  "step) or plateau (times --lr-factor when validation stalls for --lr-patience epochs)")
      ->check(CLI::IsMember({"constant", "inverse-time", "cosine", "plateau"}))
      ->capture_default_str();
  cmd->add_option("--lr-decay-rate", f->schedule.decayRate, "r of --lr-schedule inverse-time, per step")
      ->check(finiteNumber(0, 1e6))
      ->capture_default_str();
  cmd->add_option("--warmup", f->schedule.warmup, "Steps of linear warm-up from 0 to --lr, before the schedule")
      ->check(wholeNumber(0, uint64_t(1) << 40))
      ->capture_default_str();
  cmd->add_option("--min-lr", f->schedule.minLr, "The rate --lr-schedule cosine ends at")
      ->check(finiteNumber(0, 3e38))
      ->capture_default_str();
  cmd->add_option("--lr-factor", f->schedule.factor, "--lr-schedule plateau multiplies the rate by this")
      ->check(finiteNumber(0, 1))
      ->capture_default_str();
  cmd->add_option("--lr-patience", f->schedule.patience, "--lr-schedule plateau: epochs without improvement before a decay")
      ->check(wholeNumber(1, uint64_t(1) << 30))
      ->capture_default_str();
  cmd->add_option("--early-stop", f->earlyStop,
                  "Stop after this many epochs without a better validation perplexity (0: never); the test uses "
                  "the best epoch, whose checkpoint --save keeps beside the last as NAME.best.safetensors")
      ->check(wholeNumber(0, uint64_t(1) << 30))
      ->capture_default_str();
  cmd->add_option("--momentum", f->optimizer.momentum, "Momentum for --optimizer momentum")
      ->check(finiteNumber(0, 1))
      ->capture_default_str();
  cmd->add_option("--val-fraction", f->valFraction,
                  "Hold out this tail fraction of the corpus and report its perplexity after every epoch (0: none)")
      ->check(finiteNumber(0, 0.9))
      ->capture_default_str();
  cmd->add_option("--val-data", f->valData,
                  "Validation text, read as --data is with its vocabulary: perplexity over every token after each epoch");
  cmd->add_option("--test-data", f->testData,
                  "Test text, read as --data is with its vocabulary: perplexity over every token at the end");
  cmd->add_option("--min-count", f->minCount,
                  "--text words: words seen fewer times in --data become <unk>")
      ->check(wholeNumber(1, uint64_t(1) << 40))
      ->capture_default_str();
  cmd->add_option("--vocab", f->vocabFile,
                  "--text words: the vocabulary, one word per line in id order (instead of counting --data)");
  cmd->add_option("--max-tokens", f->maxTokens, "Keep the first N tokens of the corpus (0: all)")
      ->check(wholeNumber(0, uint64_t(1) << 40))
      ->capture_default_str();
  cmd->add_option("--text", f->text,
                  "How the text becomes tokens: d2l (letters and space, lowercased: the seed's), chars (every "
                  "UTF-8 character as it is) or words (whitespace-separated)")
      ->check(CLI::IsMember({"d2l", "chars", "words"}))
      ->capture_default_str();
  cmd->add_option("--iter", f->iter, "Minibatch iterator: sequential (state carried) or random (state reset)")
      ->check(CLI::IsMember({"sequential", "random"}))
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed for every random choice (batches, initial parameters)")
      ->check(wholeNumber(0, UINT64_MAX))
      ->capture_default_str();
  cmd->add_option("--data", f->data, "The book's text (default: $GRAPHC_DATA, else ../shared/data/timemachine.txt, else the bundled copy)");
  addEngineFlags(cmd, f->engine, f->cacheDir, f->targetCpu);
  cmd->add_flag("--no-cache", f->noCache, "Compile without reading or writing the object cache");
  cmd->add_option("--threads", f->threads,
                  "Threads for matrix products and big kernels, per rank under MPI (0: all cores, or the rank's share; more than the cores is capped)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd->add_flag("--stats", f->stats, "Print kernels, arena bytes, FLOPs per step and compile seconds on stderr");
  cmd->add_option("--sample-every", f->sampleEvery, "Print a greedy sample after \"time traveller\" every N epochs (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--metrics", f->metrics, "Write epoch,perplexity,loss,grad_norm (before clipping),lr,tokens_per_sec,seconds to this CSV file");
  cmd->add_option("--plot", f->plot, "Draw perplexity against epoch into this SVG file");
  cmd->add_option("--plot-every", f->plotEvery,
                  "Also rewrite --plot and --metrics every N epochs, to watch a long run (0: only at the end)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 30))
      ->capture_default_str();
  cmd->add_option("--save", f->save,
                  "Save the training state (parameters, optimizer state, RNG, progress) to this safetensors file; "
                  "`generate --load` and `train --resume` read it");
  cmd->add_option("--resume", f->resume,
                  "Continue the run a --save checkpoint holds, bit for bit, up to --epochs (settings come from it; a "
                  "flag that contradicts them is refused)");
  cmd->add_option("--checkpoint-every", f->checkpointEvery, "Also write the --save checkpoint every N epochs (0: only at the end)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 30))
      ->capture_default_str();
  cmd->add_flag("--json", f->json, "End with one JSON line: perplexity, tokens_per_sec, epochs, steps, seconds, sample, ranks, allreduce_ms_per_step");
  cmd->add_flag("--distributed", f->distributed,
                "Train data-parallel over the MPI world (implied when started by mpirun with more than one process)");
  cmd->add_option("--rank-timeout", f->rankTimeout,
                  "Under MPI: exit when the other ranks have not answered a collective for this many seconds")
      ->check(finiteNumber(1, 86400))
      ->capture_default_str();
  cmd->callback([f, cmd] {
    for (const auto* opt : cmd->get_options())
      if (opt->count() > 0) f->given.insert(opt->get_name());
    try {
      runTrain(*f);
    } catch (const Error& e) {
      int rank = launcherRank();
      if (rank == 0) throw;
      if (!trainingStarted) throw Error("");  // rank 0 reports the same finding
      throw Error(fmt::format("graphc: rank {}: {}", rank, e.what()));
    }
  });
}

}  // namespace graphc::cli
