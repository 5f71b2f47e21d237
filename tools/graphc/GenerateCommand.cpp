// tools/graphc/GenerateCommand.cpp — `graphc generate`: continue a prefix with a trained model.
#include <chrono>
#include <fmt/format.h>
#include <iostream>
#include <memory>

#include "graph/FileIO.h"
#include "runtime/Generator.h"
#include "runtime/Initializers.h"
#include "runtime/Threads.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/ModelFlags.h"
#include "tools/graphc/Plugins.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {
namespace {

// --model is the model a checkpoint must hold ("": any); the sizing flags are for --untrained.
struct GenerateFlags : ModelFlags {
  GenerateFlags() { model.clear(); }
  std::string load;
  bool untrained = false;
  std::string data;
  std::string text = "d2l";
  std::string prefix = "time traveller";
  std::string prefixFile;
  int64_t length = 50;
  double temperature = 0;
  int64_t topK = 0;
  double topP = 1, repetitionPenalty = 1;
  uint64_t seed = 0;
  std::string engine = "jit";
  std::string cacheDir;
  std::string targetCpu = "host";
  int threads = 0;
  bool stats = false;
};

// --prefix-file: one prefix per line (a final newline and \r before it are
// not part of it); an empty line is an error naming it.
std::vector<std::string> readPrefixes(const std::string& path) {
  std::string text = readFileBounded(path, uint64_t(1) << 26, "the prefix file");
  std::vector<std::string> prefixes;
  size_t start = 0;
  for (int line = 1; start < text.size(); ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string p = text.substr(start, end - start);
    if (!p.empty() && p.back() == '\r') p.pop_back();
    if (p.empty()) throw Error(fmt::format("{}:{}: error: empty prefix (every line is one prefix)", path, line));
    prefixes.push_back(std::move(p));
    start = end + 1;
  }
  if (prefixes.empty()) throw Error(fmt::format("{}: error: no prefixes in the file", path));
  if (prefixes.size() > 4096)
    throw Error(fmt::format("{}: error: {} prefixes; at most 4096 run at once", path, prefixes.size()));
  return prefixes;
}

// One line per prefix: --prefix, or every line of --prefix-file as one batch.
void printGenerated(Generator& gen, const GenerateFlags& f) {
  std::vector<std::string> prefixes = f.prefixFile.empty() ? std::vector<std::string>{f.prefix} : readPrefixes(f.prefixFile);
  // Characters the vocabulary lacks are read as <unk>, as an exported library reads them: said once per prefix.
  for (const std::string& p : prefixes)
    if (std::string c = gen.vocab().firstUnknown(p); !c.empty())
      std::cerr << fmt::format("graphc: warning: the prefix '{}' has '{}', which is not in the model's vocabulary of {} "
                               "tokens{}: read as <unk>\n",
                               escapeForMessage(p), escapeForMessage(c), gen.vocab().size(),
                               c.size() == 1 && std::isupper(static_cast<unsigned char>(c[0]))
                                   ? " (trained with --text d2l: lowercase letters and space)"
                                   : "");
  gen.prepare(int64_t(prefixes.size()));
  auto start = std::chrono::steady_clock::now();
  graphc_sampling sampling{f.temperature, f.topK, f.topP, f.repetitionPenalty};
  std::vector<std::string> lines;
  try {
    lines = gen.generateBatch(prefixes, f.length, sampling, f.seed);
  } catch (const Error& e) {  // a prefix or a sampling setting the model cannot take
    throw Error(std::string("graphc generate: error: ") + e.what());
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const std::string& line : lines) std::cout << line << "\n";
  if (f.stats) {
    int64_t tokens = f.length * int64_t(prefixes.size());
    std::cerr << fmt::format("generated {} tokens ({} rows x {}) in {:.4f} s: {:.0f} tokens/s (engine {}, {} threads)\n",
                             tokens, prefixes.size(), f.length, seconds, double(tokens) / std::max(seconds, 1e-9),
                             f.engine, runtime::threads());
    if (f.engine == "jit") {
      Generator::ProgramFacts p = gen.programFacts(int64_t(prefixes.size()));
      std::cerr << fmt::format("program: arena {:.2f} MiB; copied from params per step {} bytes; prepared once {:.2f} MiB\n",
                               double(p.arenaBytes) / (1 << 20), p.paramCopyBytesPerStep,
                               double(p.preparedBytes) / (1 << 20));
    }
  }
}

// Freshly initialised parameters, drawn exactly as `graphc train --seed` draws them.
void runUntrained(GenerateFlags f) {
  if (!f.load.empty()) throw Error("--untrained and --load exclude each other");
  if (f.model.empty()) f.model = "rnn-scratch";
  Corpus corpus = loadCorpus(resolveDataPath(f.data), 0, textModeFrom(f.text));  // for the vocabulary
  f.config.vocab = corpus.vocab.size();
  f.modelLibs.clear();  // runGenerate loaded them
  const ModelDef& model = resolveModel(f);
  const ModelConfig& c = f.config;
  Graph forward = buildModelGraph(model, c);
  Rng rng(f.seed);
  TensorMap params = initializeParams(forward, rng);
  Generator gen(model, c, params, corpus.vocab, f.engine, {f.cacheDir, true, f.targetCpu});
  printGenerated(gen, f);
}

void runGenerate(const GenerateFlags& f) {
  runtime::setThreads(std::min(f.threads, runtime::usableCpus()));
  for (const auto& lib : f.modelLibs) loadModelLibrary(lib);
  if (f.untrained) return runUntrained(f);
  if (f.load.empty())
    throw Error("graphc generate: error: --load PATH is required (a checkpoint from `graphc train --save`), or --untrained");
  auto [ckpt, info, model] = loadTrainedModel(f.load, f.model);
  std::unique_ptr<Generator> gen;
  try {
    gen = std::make_unique<Generator>(*model, info.config, ckpt.tensors, info.vocab, f.engine, EngineOptions{f.cacheDir, true, f.targetCpu});
  } catch (const Error& e) {  // the tensors do not fit the model the metadata names
    throw Error(fmt::format("{}: error: {}", f.load, e.what()));
  }
  printGenerated(*gen, f);
}

}  // namespace

void addGenerateCommand(CLI::App& app) {
  auto f = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "Continue a prefix with a trained model");
  cmd->add_option("--load", f->load, "Checkpoint written by `graphc train --save`");
  addModelFlags(cmd, *f, {"Expected model (default: the checkpoint's; with --untrained, rnn-scratch)", " for --untrained",
                          /*batchShape=*/false});
  cmd->add_flag("--untrained", f->untrained, "Use freshly initialised parameters (the same as `graphc train --seed`)");
  cmd->add_option("--data", f->data, "The book, for the vocabulary of --untrained (default as in `graphc train`)");
  cmd->add_option("--text", f->text, "With --untrained: d2l or chars, as `graphc train --text`")
      ->check(CLI::IsMember({"d2l", "chars"}))
      ->capture_default_str();
  auto* prefix = cmd->add_option("--prefix", f->prefix, "Text that warms up the state")->capture_default_str();
  cmd->add_option("--prefix-file", f->prefixFile,
                  "Generate for every line of this file at once (one batch; line r samples with --seed + r)")
      ->excludes(prefix);
  cmd->add_option("--length", f->length, "Tokens to generate")->check(CLI::Range(int64_t(0), int64_t(1) << 20))->capture_default_str();
  cmd->add_option("--temperature", f->temperature, "0: greedy argmax; > 0: sample from softmax(logits / T)")
      ->check(finiteNumber(0, 1e6))
      ->capture_default_str();
  cmd->add_option("--top-k", f->topK, "With --temperature > 0: draw from the K most likely tokens only (0: all)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 30))
      ->capture_default_str();
  cmd->add_option("--top-p", f->topP,
                  "With --temperature > 0: draw from the most likely tokens holding this much probability, in (0, 1] "
                  "(nucleus sampling; 1: all)")
      ->check(finiteNumber(0, 1))
      ->capture_default_str();
  cmd->add_option("--repetition-penalty", f->repetitionPenalty,
                  "Above 1: make the tokens among the last 64 less likely (a positive logit divided by it, a negative "
                  "one multiplied; 1: off)")
      ->check(finiteNumber(0, 1e6))
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed for sampling")->check(wholeNumber(0, UINT64_MAX))->capture_default_str();
  addEngineFlags(cmd, f->engine, f->cacheDir, f->targetCpu);
  cmd->add_option("--threads", f->threads,
                  "Threads for the products of the compiled program (0: all cores); the text does not depend on it")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd->add_flag("--stats", f->stats, "Print the tokens generated per second (compilation excluded) on stderr");
  cmd->callback([f] { runGenerate(*f); });
}

}  // namespace graphc::cli
