// tools/graphc/GenerateCommand.cpp — `graphc generate`: continue a prefix with a trained model.
#include <fmt/format.h>
#include <iostream>
#include <memory>

#include "runtime/Generator.h"
#include "runtime/Initializers.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/Plugins.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {
namespace {

struct GenerateFlags {
  std::string load;
  std::string model;
  std::vector<std::string> modelLibs;
  bool untrained = false;
  int64_t hidden = 0;
  int64_t numLayers = 1;
  std::string data;
  std::string prefix = "time traveller";
  int64_t length = 50;
  double temperature = 0;
  uint64_t seed = 0;
  std::string engine = "jit";
  std::string cacheDir;
  std::string targetCpu = "host";
};

// Freshly initialised parameters, drawn exactly as `graphc train --seed` draws them.
void runUntrained(const GenerateFlags& f) {
  if (!f.load.empty()) throw Error("--untrained and --load exclude each other");
  const ModelDef& model = findModel(f.model.empty() ? "rnn-scratch" : f.model);
  Corpus corpus = loadCorpus(resolveDataPath(f.data), 0);  // for the vocabulary
  ModelConfig c;
  c.hidden = f.hidden ? f.hidden : model.defaultHidden;
  c.numLayers = f.numLayers;
  c.vocab = corpus.vocab.size();
  Graph forward = buildModelGraph(model, c);
  Rng rng(f.seed);
  TensorMap params = initializeParams(forward, rng);
  Generator gen(model, c, params, corpus.vocab, f.engine, {f.cacheDir, true, f.targetCpu});
  std::cout << gen.generate(f.prefix, f.length, f.temperature, f.seed) << "\n";
}

void runGenerate(const GenerateFlags& f) {
  for (const auto& lib : f.modelLibs) loadModelLibrary(lib);
  if (f.untrained) return runUntrained(f);
  if (f.load.empty())
    throw Error("graphc generate: error: --load PATH is required (a checkpoint from `graphc train --save`), or --untrained");
  Checkpoint ckpt = loadCheckpoint(f.load);
  ModelInfo info = readModelInfo(ckpt, f.load);
  if (!f.model.empty() && f.model != info.model)
    throw Error(fmt::format("{}: error: the checkpoint holds model '{}', not '{}'", f.load, escapeForMessage(info.model),
                            escapeForMessage(f.model)));
  const ModelDef& model = findModel(info.model);
  std::unique_ptr<Generator> gen;
  try {
    gen = std::make_unique<Generator>(model, info.config, ckpt.tensors, info.vocab, f.engine, EngineOptions{f.cacheDir, true, f.targetCpu});
  } catch (const Error& e) {  // the tensors do not fit the model the metadata names
    throw Error(fmt::format("{}: error: {}", f.load, e.what()));
  }
  std::cout << gen->generate(f.prefix, f.length, f.temperature, f.seed) << "\n";
}

}  // namespace

void addGenerateCommand(CLI::App& app) {
  auto f = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "Continue a prefix with a trained model");
  cmd->add_option("--load", f->load, "Checkpoint written by `graphc train --save`");
  cmd->add_option("--model", f->model, "Expected model (default: the checkpoint's; with --untrained, rnn-scratch)");
  addModelLibFlag(cmd, f->modelLibs);
  cmd->add_flag("--untrained", f->untrained, "Use freshly initialised parameters (the same as `graphc train --seed`)");
  cmd->add_option("--hidden", f->hidden, "Hidden units for --untrained (default: the model's)")->check(CLI::Range(1, 1 << 14));
  cmd->add_option("--num-layers", f->numLayers, "Stacked layers for --untrained")->check(CLI::Range(1, 16))->capture_default_str();
  cmd->add_option("--data", f->data, "The book, for the vocabulary of --untrained (default as in `graphc train`)");
  cmd->add_option("--prefix", f->prefix, "Text that warms up the state")->capture_default_str();
  cmd->add_option("--length", f->length, "Tokens to generate")->check(CLI::Range(int64_t(0), int64_t(1) << 20))->capture_default_str();
  cmd->add_option("--temperature", f->temperature, "0: greedy argmax; > 0: sample from softmax(logits / T)")
      ->check(finiteNumber(0, 1e6))
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed for sampling")->check(wholeNumber(0, UINT64_MAX))->capture_default_str();
  addEngineFlags(cmd, f->engine, f->cacheDir, f->targetCpu);
  cmd->callback([f] { runGenerate(*f); });
}

}  // namespace graphc::cli
