// tools/graphc/GenerateCommand.cpp — `graphc generate`: continue a prefix with a trained model.
#include <fmt/format.h>
#include <iostream>
#include <memory>

#include "runtime/Generator.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {
namespace {

struct GenerateFlags {
  std::string load;
  std::string model;
  std::string prefix = "time traveller";
  int64_t length = 50;
  double temperature = 0;
  uint64_t seed = 0;
  std::string engine = "jit";
  std::string cacheDir;
};

void runGenerate(const GenerateFlags& f) {
  if (f.load.empty()) throw Error("graphc generate: error: --load PATH is required (a checkpoint from `graphc train --save`)");
  Checkpoint ckpt = loadCheckpoint(f.load);
  ModelInfo info = readModelInfo(ckpt, f.load);
  if (!f.model.empty() && f.model != info.model)
    throw Error(fmt::format("{}: error: the checkpoint holds model '{}', not '{}'", f.load, info.model, f.model));
  const ModelDef& model = findModel(info.model);
  Generator gen(model, info.config, ckpt.tensors, info.vocab, f.engine, {f.cacheDir, true});
  std::cout << gen.generate(f.prefix, f.length, f.temperature, f.seed) << "\n";
}

}  // namespace

void addGenerateCommand(CLI::App& app) {
  auto f = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "Continue a prefix with a trained model");
  cmd->add_option("--load", f->load, "Checkpoint written by `graphc train --save`");
  cmd->add_option("--model", f->model, "Expected model (default: the checkpoint's)");
  cmd->add_option("--prefix", f->prefix, "Text that warms up the state")->capture_default_str();
  cmd->add_option("--length", f->length, "Tokens to generate")->check(CLI::Range(int64_t(0), int64_t(1) << 20))->capture_default_str();
  cmd->add_option("--temperature", f->temperature, "0: greedy argmax; > 0: sample from softmax(logits / T)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed for sampling")->capture_default_str();
  cmd->add_option("--engine", f->engine, "jit: compiled native code; interp: the reference interpreter")
      ->check(CLI::IsMember({"jit", "interp"}))
      ->capture_default_str();
  cmd->add_option("--cache-dir", f->cacheDir, "Compiled-object cache (default: $XDG_CACHE_HOME/graphc or ~/.cache/graphc)");
  cmd->callback([f] { runGenerate(*f); });
}

}  // namespace graphc::cli
