// tools/graphc/TrainFinish.cpp — the end of a train run and what it writes: checkpoints, metrics and plot, samples, the test, the summary (TrainRunSteps.h).
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

void TrainRun::saveTraining(const std::string& path) {
  Trainer::Snapshot snap = trainer->snapshot();
  if (!lead) return;
  Checkpoint ckpt;
  ckpt.tensors = snap.tensors;
  std::map<std::string, std::string> meta = runSettings(f);
  meta["training_state"] = "1";
  meta["shards"] = std::to_string(f.shards);
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
  // The other deterministic columns of the metrics (wall-clock ones would make the bytes differ run to run).
  auto series = [&](auto field) {
    nlohmann::json values = nlohmann::json::array();
    for (const auto& r : history) values.push_back(std::isfinite(field(r)) ? nlohmann::json(field(r)) : nlohmann::json());
    return values.dump();
  };
  meta["grad_norms"] = series([](const EpochReport& r) { return r.gradNorm; });
  meta["learning_rates"] = series([](const EpochReport& r) { return r.learningRate; });
  meta["val_estimate_losses"] = series([](const EpochReport& r) { return r.valEstimateLoss; });
  if (!history.empty()) meta["perplexity"] = fmt::format("{:.6f}", history.back().perplexity);
  for (const auto& [k, v] : snap.numbers) meta["state." + k] = v;
  writeModelInfo(ckpt, {f.model, f.config, corpus.vocab}, meta);
  saveCheckpoint(path, ckpt);
}

void TrainRun::writeReports(const std::string& state) {
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

std::string TrainRun::sample(const std::string& prefix) {
  const TensorMap params = trainer ? trainer->params() : trained;
  if (!generator)
    generator = std::make_unique<Generator>(*model, f.config, params, corpus.vocab, f.engine, options.engineOptions);
  else generator->setParams(params);
  return generator->generate(prefix, f.sampleLength);
}

void TrainRun::finish() {
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
  // Samples and the test need only the params: the trainer's arena and code go before the generator is
  // built (a 512-unit word LSTM peaked at 790 MB building it beside them, against 495 MB training).
  trained = trainer->releaseParams();
  trainer.reset();
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

Evaluation TrainRun::evaluateTest(const EpochReport& last) {
  Evaluation test;
  if (testTokens.empty()) return test;
  if (bestParams.empty() && stopping.bestEpoch > 0 && !bestPath.empty()) bestParams = loadCheckpoint(bestPath).tensors;
  bool best = !bestParams.empty();
  test = evaluateHeldOut("test", best ? bestParams : trained, testTokens);
  std::cout << fmt::format("test perplexity {:.2f} ({} tokens; the parameters of epoch {}{})\n", test.perplexity(),
                           test.tokens, best ? stopping.bestEpoch : last.epoch, best ? ", the best on validation" : "");
  return test;
}

void TrainRun::printJson(const EpochReport& last, double tokensPerSec, double allReduceMsPerStep,
                         const std::string& sample1, const std::string& sample2, const Evaluation& test) {
  nlohmann::json j = {{"model", f.model},
                      {"ranks", world ? world->size() : 1},
                      {"allreduce_ms_per_step", allReduceMsPerStep},
                      {"engine", f.engine},
                      {"perplexity", last.perplexity},
                      {"tokens_per_sec", tokensPerSec},
                      {"threads", runtime::threads()},
                      {"shards", f.shards},
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

}  // namespace graphc::cli
