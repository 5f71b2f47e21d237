// tools/graphc/TrainCommand.cpp — `graphc train`: the seed setup by default.
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/Generator.h"
#include "runtime/JitEngine.h"
#include "runtime/Threads.h"
#include "runtime/Trainer.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/Plugins.h"
#include "tools/graphc/Report.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {
namespace {

struct TrainFlags {
  std::string model = "rnn-scratch";
  std::vector<std::string> modelLibs;
  ModelConfig config = configWithModelDefaults();
  OptimizerConfig optimizer;
  int64_t epochs = 500;
  int64_t maxTokens = 10000;
  std::string iter = "sequential";
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
  std::string metrics, plot, save;
  bool json = false;
};

std::string formatDuration(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", int(s / 60), int(s) % 60);
  return fmt::format("{}h{:02}m", int(s / 3600), (int(s) % 3600) / 60);
}

void runTrain(TrainFlags f) {
  for (const auto& lib : f.modelLibs) loadModelLibrary(lib);
  int cores = runtime::usableCpus();
  if (f.threads > cores) {
    // The threads spin between a step's products; more of them than CPUs fight over them.
    std::cerr << fmt::format("graphc: warning: --threads {} is more than the {} CPUs this process may use; using {}\n",
                             f.threads, cores, cores);
    f.threads = cores;
  }
  runtime::setThreads(f.threads);
  const ModelDef& model = findModel(f.model);
  if (f.config.hidden == 0) f.config.hidden = model.defaultHidden;
  validate(f.optimizer);
  std::string dataPath = resolveDataPath(f.data);
  Corpus corpus = loadCorpus(dataPath, f.maxTokens);
  f.config.vocab = corpus.vocab.size();

  TrainOptions options;
  options.model = f.config;
  options.optimizer = f.optimizer;
  options.iter = f.iter == "random" ? IterKind::Random : IterKind::Sequential;
  options.seed = f.seed;
  options.engine = f.engine;
  options.engineOptions = {f.cacheDir, !f.noCache, f.targetCpu};
  Trainer trainer(model, options, corpus);
  if (f.stats) {
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
  const bool tty = stdoutIsTerminal() && !f.json;
  std::vector<EpochReport> history;
  for (int64_t e = 1; e <= f.epochs; ++e) {
    EpochReport r = trainer.trainEpoch();
    history.push_back(r);
    bool sampleNow = f.sampleEvery > 0 && (e % f.sampleEvery == 0);
    if (tty) {
      double eta = r.seconds / double(e) * double(f.epochs - e);
      std::cout << fmt::format("\r\033[Kepoch {}/{} | perplexity {:.3f} | {:.0f} tokens/s | ETA {}", e, f.epochs,
                               r.perplexity, r.tokensPerSec, formatDuration(eta))
                << std::flush;
      if (sampleNow) std::cout << "\r\033[K" << fmt::format("epoch {}: {}\n", e, sample("time traveller"));
    } else if (sampleNow || e == 1 || e == f.epochs) {
      std::cout << fmt::format("epoch {}/{}  perplexity {:.3f}  {:.0f} tokens/s  {:.1f}s", e, f.epochs, r.perplexity,
                               r.tokensPerSec, r.seconds);
      std::cout << (sampleNow ? "  " + sample("time traveller") : std::string()) << "\n" << std::flush;
    }
  }
  if (tty) std::cout << "\r\033[K";

  const EpochReport& last = history.back();
  double tokensPerSec = last.seconds > 0 ? double(last.steps * f.config.batchSize * f.config.numSteps) / last.seconds : 0;
  std::string sample1 = sample("time traveller"), sample2 = sample("traveller");
  std::cout << fmt::format("perplexity {:.2f}, {:.0f} tokens/sec on {}\n", last.perplexity, tokensPerSec, f.engine);
  std::cout << sample1 << "\n" << sample2 << "\n";

  if (!f.metrics.empty()) writeOutput(f.metrics, metricsCsv(history));
  if (!f.plot.empty())
    writeOutput(f.plot, perplexitySvg(history, fmt::format("{} on The Time Machine ({} iteration, lr {})", f.model,
                                                           f.iter, f.optimizer.learningRate)));
  if (!f.save.empty()) {
    Checkpoint ckpt;
    ckpt.tensors = trainer.params();
    writeModelInfo(ckpt, {f.model, f.config, corpus.vocab},
                   {{"batch_size", std::to_string(f.config.batchSize)},
                    {"num_steps", std::to_string(f.config.numSteps)},
                    {"epochs", std::to_string(f.epochs)},
                    {"optimizer", f.optimizer.kind},
                    {"lr", fmt::format("{}", f.optimizer.learningRate)},
                    {"clip", fmt::format("{}", f.optimizer.clipNorm)},
                    {"iter", f.iter},
                    {"seed", std::to_string(f.seed)},
                    {"max_tokens", std::to_string(f.maxTokens)},
                    {"perplexity", fmt::format("{:.6f}", last.perplexity)}});
    saveCheckpoint(f.save, ckpt);
    std::cout << "saved " << f.save << "\n";
  }
  if (f.json) {
    nlohmann::json j = {{"model", f.model},
                        {"engine", f.engine},
                        {"perplexity", last.perplexity},
                        {"tokens_per_sec", tokensPerSec},
                        {"threads", runtime::threads()},
                        {"epochs", f.epochs},
                        {"steps", last.steps},
                        {"seconds", last.seconds},
                        {"sample", sample1},
                        {"sample_traveller", sample2}};
    std::cout << j.dump() << "\n";
  }
}

}  // namespace

void addTrainCommand(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train", "Train a language model on The Time Machine (the seed setup by default)");
  cmd->add_option("--model", f->model, "Model to train (see `graphc models`)")->capture_default_str();
  addModelLibFlag(cmd, f->modelLibs);
  cmd->add_option("--num-layers", f->config.numLayers, "Stacked recurrent layers (module models: rnn, gru, lstm)")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
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
  cmd->add_option("--optimizer", f->optimizer.kind, "sgd, momentum or adam")
      ->check(CLI::IsMember({"sgd", "momentum", "adam"}))
      ->capture_default_str();
  cmd->add_option("--momentum", f->optimizer.momentum, "Momentum for --optimizer momentum")
      ->check(finiteNumber(0, 1))
      ->capture_default_str();
  cmd->add_option("--max-tokens", f->maxTokens, "Keep the first N tokens of the corpus (0: all)")
      ->check(wholeNumber(0, uint64_t(1) << 40))
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
                  "Threads for matrix products and big kernels (0: all cores; more than the cores is capped)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd->add_flag("--stats", f->stats, "Print kernels, arena bytes, FLOPs per step and compile seconds on stderr");
  cmd->add_option("--sample-every", f->sampleEvery, "Print a greedy sample after \"time traveller\" every N epochs (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--metrics", f->metrics, "Write epoch,perplexity,tokens_per_sec,seconds to this CSV file");
  cmd->add_option("--plot", f->plot, "Draw perplexity against epoch into this SVG file");
  cmd->add_option("--save", f->save, "Save the trained parameters to this safetensors file");
  cmd->add_flag("--json", f->json, "End with one JSON line: perplexity, tokens_per_sec, epochs, steps, seconds, sample");
  cmd->callback([f] { runTrain(*f); });
}

}  // namespace graphc::cli
