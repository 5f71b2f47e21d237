// tools/graphc/EvalCommand.cpp — `graphc eval`: a trained model's perplexity
// on a text, every token counted (runtime/Evaluator.h).
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "runtime/Evaluator.h"
#include "runtime/Threads.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/Plugins.h"
#include "tools/graphc/Progress.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {
namespace {

struct EvalFlags {
  std::string load, data, model;
  std::vector<std::string> modelLibs;
  int64_t batchSize = 0, numSteps = 0;  // 0: the checkpoint's
  std::string engine = "jit", cacheDir, targetCpu = "host";
  int threads = 0;
  bool json = false;
};

int64_t recorded(const Checkpoint& ckpt, const char* key, int64_t fallback) {
  auto it = ckpt.metadata.find(key);
  if (it == ckpt.metadata.end()) return fallback;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  return (*end == '\0' && v >= 1 && v <= (1 << 16)) ? int64_t(v) : fallback;
}

void runEval(const EvalFlags& f) {
  runtime::setThreads(std::min(f.threads, runtime::usableCpus()));
  for (const auto& lib : f.modelLibs) loadModelLibrary(lib);
  if (f.load.empty()) throw Error("--load PATH is required (a checkpoint from `graphc train --save`)");
  if (f.data.empty()) throw Error("--data PATH is required (the text to evaluate)");
  auto [ckpt, info, model] = loadTrainedModel(f.load, f.model);
  auto text = ckpt.metadata.find("text");
  TextMode mode = textModeFrom(text == ckpt.metadata.end() ? "d2l" : text->second);
  std::vector<int32_t> tokens = loadHeldOut(f.data, info.vocab, mode, "--data");
  ModelConfig c = info.config;
  c.batchSize = f.batchSize > 0 ? f.batchSize : recorded(ckpt, "batch_size", 32);
  c.numSteps = f.numSteps > 0 ? f.numSteps : recorded(ckpt, "num_steps", 35);
  TensorMap params;
  Graph forward = buildModelGraph(*model, c);
  for (const Node& n : forward.nodes)
    if (n.op == OpKind::Param) {
      auto it = ckpt.tensors.find(n.name);
      if (it == ckpt.tensors.end()) throw Error(fmt::format("{}: error: the checkpoint has no parameter '{}'", f.load, n.name));
      if (it->second.type() != n.type)
        throw Error(fmt::format("{}: error: parameter '{}' is {}, the model needs {}", f.load, n.name,
                                str(it->second.type()), str(n.type)));
      params[n.name] = it->second;
    }
  Evaluator evaluator(*model, c, f.engine, EngineOptions{f.cacheDir, true, f.targetCpu});
  // A live line on a terminal (a minute apart on a pipe): a text of many megabytes takes minutes.
  WorkProgress progress(isatty(STDERR_FILENO) != 0 && !f.json, "evaluated", "tokens");
  evaluator.onProgress([&](int64_t done, int64_t total) { progress.update(done, total); });
  auto start = std::chrono::steady_clock::now();
  Evaluation e = evaluator.evaluate(params, tokens);
  progress.clear();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format("perplexity {:.3f} over {} tokens ({} streams of {}-token windows)\n", e.perplexity(),
                           e.tokens, std::min<int64_t>(c.batchSize, e.tokens), c.numSteps);
  // Per character, the field's unit for character models.
  if (mode != TextMode::Words) std::cout << fmt::format("bits per character {:.4f}\n", e.loss() / std::log(2.0));
  std::cerr << fmt::format("evaluated in {:.1f} s ({:.0f} tokens/s)\n", seconds, double(e.tokens) / std::max(seconds, 1e-9));
  if (f.json)
    std::cout << nlohmann::json({{"perplexity", e.perplexity()}, {"loss", e.loss()}, {"tokens", e.tokens}, {"seconds", seconds}})
                     .dump()
              << "\n";
}

}  // namespace

void addEvalCommand(CLI::App& app) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand("eval", "Perplexity of a trained model on a text, every token counted");
  cmd->add_option("--load", f->load, "Checkpoint written by `graphc train --save`");
  cmd->add_option("--data", f->data, "The text, read as the model's training text was (its --text mode and vocabulary)");
  cmd->add_option("--model", f->model, "Expected model (default: the checkpoint's)");
  addModelLibFlag(cmd, f->modelLibs);
  cmd->add_option("--batch-size", f->batchSize, "Streams evaluated side by side (default: the training batch size)")
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--num-steps", f->numSteps, "Tokens per window, the state carried between them (default: training's)")
      ->check(CLI::Range(1, 1 << 12));
  addEngineFlags(cmd, f->engine, f->cacheDir, f->targetCpu);
  cmd->add_option("--threads", f->threads, "Threads (0: all cores)")->check(CLI::Range(0, 256))->capture_default_str();
  cmd->add_flag("--json", f->json, "Also print one JSON line: perplexity, loss, tokens, seconds");
  cmd->callback([f] { runEval(*f); });
}

}  // namespace graphc::cli
