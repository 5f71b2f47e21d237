// tools/graphc/TrainSetup.cpp — a train run's set-up: its flags checked, a checkpoint resumed, threads, the texts, the trainer and its samples' prefixes (TrainRunSteps.h).
#include "tools/graphc/TrainRunSteps.h"

#include <algorithm>
#include <charconv>
#include <tuple>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "graph/FileIO.h"
#include "models/Model.h"
#include "driver/Pipeline.h"
#include "runtime/Communicator.h"
#include "runtime/Evaluator.h"
#include "runtime/Generator.h"
#include "runtime/JitEngine.h"
#include "runtime/ModelContract.h"
#include "target/Target.h"
#include "runtime/Threads.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/EarlyStopping.h"
#include "tools/graphc/Plugins.h"
#include "tools/graphc/Progress.h"
#include "tools/graphc/RankAgreement.h"
#include "tools/graphc/Report.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {

void TrainRun::checkFlags() {
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
  if (lead && !f.metrics.empty()) checkOutputWritable(f.metrics, "the metrics");
  if (lead && !f.plot.empty()) checkOutputWritable(f.plot, "the plot");
}

void TrainRun::resume() {
  if (f.resume.empty()) return;
  // The header now, the tensors once the trainer says which it needs and of what types (makeTrainer).
  resumedIndex = readCheckpointIndex(f.resume);
  resumed = Checkpoint{{}, resumedIndex->metadata};
  history = resumeSettings(*resumed, f);
  // Not a hyperparameter: another count continues the run, but its sums go in another order.
  if (auto it = resumed->metadata.find("shards"); it != resumed->metadata.end()) {
    int64_t recorded = 0;
    auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), recorded);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || recorded < 1 || recorded > (1 << 16))
      throw Error(fmt::format("{}: error: the checkpoint's 'shards' is not a whole number in 1..65536", f.resume));
    if (!f.given.count("--shards")) f.shards = recorded;
    else if (f.shards != recorded && lead)
      std::cerr << fmt::format("graphc: note: --shards {}: the checkpoint's run cut its batches into {}; it continues with "
                               "its gradients summed in another order (close to it, not bit for bit)\n",
                               f.shards, recorded);
  }
  if (!f.metrics.empty() && f.metrics != "-" && std::filesystem::is_regular_file(f.metrics)) {
    try {
      restoreWallClock(history, readFileBounded(f.metrics, uint64_t(64) << 20, "the metrics"));
    } catch (const Error&) {  // unreadable: those columns stay empty
    }
  }
}

void TrainRun::chooseThreads() {
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

void TrainRun::loadText() {
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
    text.vocab = readModelInfo(resumed->metadata, f.resume).vocab;
    text.vocabFile.clear();
  }
  corpus = loadCorpus(dataPath, f.maxTokens, text);
  f.config.vocab = corpus.vocab.size();
  if (!isBuiltinModel(model->name)) checkLogitsOrder(*model, f.config);  // a plugin's, before any training
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

namespace {

// This machine's memory (MemTotal of /proc/meminfo), 0 when unknown.
uint64_t machineMemoryBytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (meminfo >> key >> kib)
    if (key == "MemTotal:") return kib * 1024;
  return 0;
}

}  // namespace

void TrainRun::announceCost() {
  // The parameters do not depend on the batch or the steps: one step of one row is enough to count them.
  ModelConfig oneStep = withModelDefaults(*model, f.config);
  oneStep.batchSize = 1;
  oneStep.numSteps = 1;
  int64_t params = 0;
  for (const Node& n : buildModelGraph(*model, oneStep).nodes)
    if (n.op == OpKind::Param) params += n.type.numElements();
  // A lower bound: each parameter, its gradient, its packed copy and the optimizer's slots, 4 bytes each.
  int64_t slots = f.optimizer.kind == "sgd" ? 0 : f.optimizer.kind == "momentum" ? 1 : 2;
  uint64_t bytes = uint64_t(params) * 4 * uint64_t(3 + slots);
  stateBytes = bytes;
  uint64_t memory = machineMemoryBytes();
  auto gib = [](uint64_t b) { return double(b) / double(uint64_t(1) << 30); };
  if (memory > 0 && bytes > memory)
    throw Error(fmt::format("{} with these sizes has {:.1f} M parameters: at least {:.1f} GiB with their gradients, "
                            "packed copies and optimizer state, more than this machine's {:.1f} GiB (lower --hidden "
                            "or --num-layers)",
                            f.model, double(params) / 1e6, gib(bytes), gib(memory)));
  if (bytes >= (uint64_t(1) << 30) && lead)
    std::cerr << fmt::format("graphc: {} has {:.1f} M parameters: at least {:.1f} GiB with their gradients, packed "
                             "copies and optimizer state; compiling and the first steps take a while\n",
                             f.model, double(params) / 1e6, gib(bytes));
}

Decomposition TrainRun::chooseShards() const {
  const int processes = world ? world->size() : 1;
  const bool given = f.given.count("--shards") > 0;
  if (f.shards > 0 && !given && f.shards % processes != 0) {
    // A resumed run on more processes than its shards: it goes on, in another order.
    if (lead)
      std::cerr << fmt::format("graphc: note: the checkpoint's run cut its batches into {} shard{}, which do not split "
                               "over {} processes; it continues with its gradients summed in another order (close "
                               "to it, not bit for bit)\n",
                               f.shards, f.shards == 1 ? "" : "s", processes);
  } else if (f.shards > 0) {  // the trainer refuses a count that does not split over the processes
    if (f.given.count("--threads") && f.shards / processes > 1 && f.threads > f.shards / processes)
      throw Error(fmt::format("--threads {}: more threads than the {} shard{} this process trains (--shards {}); use at "
                              "most {}",
                              f.threads, f.shards / processes, f.shards / processes == 1 ? "" : "s", f.shards,
                              f.shards / processes));
    return Decomposition{f.shards, ""};
  }
  return chooseDecomposition({f.config.batchSize, processes, runtime::threads(),
                              targetFor(f.targetCpu).tile.rows, stateBytes});
}

std::string TrainRun::decompositionText() const {
  const int64_t shards = trainer->shards(), local = trainer->localShards(), processes = world ? world->size() : 1;
  const int threads = runtime::threads();
  std::string where = processes > 1 ? fmt::format("{} per process over {} processes", local, processes) : "";
  if (local > 1)
    return fmt::format("graphc: rows over workers: {} shards of {} rows ({}{}{} at once), summed in a fixed order",
                       shards, f.config.batchSize / shards, where, where.empty() ? "" : ", ",
                       std::min<int64_t>(threads, local));
  return fmt::format("graphc: {}{} rows per process; {}{}", processes > 1 ? fmt::format("{} shards: ", shards) : "",
                     f.config.batchSize / processes,
                     threads > 1 ? fmt::format("its {} threads split each product", threads) : "one thread",
                     threads > 1 && !splitWhy.empty() ? fmt::format(" ({})", splitWhy) : "");
}

void TrainRun::makeTrainer() {
  options.model = f.config;
  options.optimizer = f.optimizer;
  options.schedule = f.schedule;
  options.fuseLossMinBytes = fusedLossMinBytes(f.fusedLoss);
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
  options.threads = runtime::threads();
  Decomposition decomposition = chooseShards();
  options.shards = decomposition.shards;
  splitWhy = decomposition.why;
  trainer = std::make_unique<Trainer>(*model, options, corpus);
  f.shards = trainer->shards();  // what the checkpoints record
  if (resumed) {
    Trainer::Snapshot snap;
    for (const auto& [k, v] : resumed->metadata)
      if (k.rfind("state.", 0) == 0) snap.numbers[k.substr(6)] = v;
    try {
      // Only the tensors the run needs, and only once the header has them at the types it needs.
      std::vector<std::string> needed = trainer->checkSnapshotTypes([&](const std::string& name) -> const TensorType* {
        auto it = resumedIndex->tensors.find(name);
        return it == resumedIndex->tensors.end() ? nullptr : &it->second.type;
      });
      const std::set<std::string> only(needed.begin(), needed.end());
      snap.tensors = readCheckpointTensors(f.resume, *resumedIndex, &only).tensors;
      resumedIndex.reset();
      trainer->restore(snap);
    } catch (const Error& e) {
      std::string what = e.what();
      throw Error(what.rfind(f.resume + ":", 0) == 0 ? what : fmt::format("{}: error: {}", f.resume, what));
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

// The two samples' prefixes: the text, and its last word alone.
static std::pair<std::string, std::string> prefixAndLastWord(const std::string& text) {
  size_t space = text.find_last_of(" \n\t");
  return {text, space == std::string::npos || space + 1 == text.size() ? text : text.substr(space + 1)};
}

void TrainRun::choosePrefixes() {
  if (!f.samplePrefix.empty()) {
    if (std::string c = corpus.vocab.firstUnknown(f.samplePrefix); !c.empty())
      throw Error(fmt::format("--sample-prefix: '{}' has '{}', which is not in the vocabulary", escapeForMessage(f.samplePrefix),
                              escapeForMessage(c)));
    std::tie(prefix1, prefix2) = prefixAndLastWord(f.samplePrefix);
    return;
  }
  // The seed's "time traveller" where the text has it (The Time Machine), else the text's opening words.
  if (corpus.vocab.firstUnknown(prefix1).empty()) {
    std::vector<int32_t> seed = corpus.vocab.encode(prefix1);
    if (std::search(corpus.tokens.begin(), corpus.tokens.end(), seed.begin(), seed.end()) != corpus.tokens.end()) return;
  }
  // The opening's first 3 words, or its first 20 characters cut back to a whole word.
  size_t take = std::min<size_t>(corpus.tokens.size(), corpus.vocab.words() ? 3 : 20);
  std::string opening = corpus.vocab.decode(std::vector<int32_t>(corpus.tokens.begin(), corpus.tokens.begin() + take));
  if (size_t space = opening.find_last_of(" \n\t"); !corpus.vocab.words() && space != std::string::npos && space > 0)
    opening.resize(space);
  std::tie(prefix1, prefix2) = prefixAndLastWord(opening);
}

void TrainRun::printStats() {
  if (!f.stats || !lead) return;
  std::cerr << decompositionText() << "\n";
  if (auto* jit = dynamic_cast<const JitEngine*>(&trainer->engine()))
    std::cerr << statsText(jit->planned(), {}, jit->report());
  else
    std::cerr << "graphc stats: the interpreter engine compiles nothing\n";
}

}  // namespace graphc::cli
