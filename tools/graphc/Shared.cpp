// tools/graphc/Shared.cpp — data path resolution and checkpoint metadata.
#include "tools/graphc/Shared.h"

#include <cstdlib>
#include <filesystem>
#include <charconv>
#include <fmt/format.h>

#include "graph/Analysis.h"
#include "runtime/Generator.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/Plugins.h"
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace graphc::cli {

namespace fs = std::filesystem;

std::string resolveDataPath(const std::string& flag) {
  if (!flag.empty()) {
    if (!fs::exists(flag)) throw Error(fmt::format("--data: no such file: {}", flag));
    return flag;
  }
  if (const char* env = std::getenv("GRAPHC_DATA"); env && *env) {
    if (!fs::exists(env)) throw Error(fmt::format("GRAPHC_DATA names a missing file: {} (fix it or pass --data)", env));
    return env;
  }
  std::vector<fs::path> candidates;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path().parent_path() / "shared/data/timemachine.txt");
  candidates.push_back(fs::path(GRAPHC_SOURCE_DIR).parent_path() / "shared/data/timemachine.txt");
  candidates.push_back(fs::current_path(ec).parent_path() / "shared/data/timemachine.txt");
  // The copy bundled with the checkout (same sha1 as the shared one), and the
  // one `cmake --install` puts beside an installed graphc.
  candidates.push_back(fs::path(GRAPHC_SOURCE_DIR) / "data/timemachine.txt");
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share/graphc/timemachine.txt");
  std::string looked;
  for (const auto& c : candidates) {
    fs::path p = c.lexically_normal();
    if (fs::exists(p)) return p.string();
    looked += (looked.empty() ? "" : ", ") + p.string();
  }
  throw Error(fmt::format("cannot find the training text: looked at {} and $GRAPHC_DATA is unset; "
                          "pass --data PATH/timemachine.txt",
                          looked));
}

void writeModelInfo(Checkpoint& ckpt, const ModelInfo& info, const std::map<std::string, std::string>& hyperparameters) {
  ckpt.metadata = hyperparameters;
  ckpt.metadata["format"] = "graphc-checkpoint-1";
  ckpt.metadata["model"] = info.model;
  ckpt.metadata["hidden"] = std::to_string(info.config.hidden);
  ckpt.metadata["num_layers"] = std::to_string(info.config.numLayers);
  ckpt.metadata["vocab"] = nlohmann::json(info.vocab.tokens()).dump();
  if (info.vocab.words()) ckpt.metadata["text"] = "words";
  ckpt.metadata["settings"] = nlohmann::json(info.config.settings).dump();
  // A plugin's model: where it came from, so loading the checkpoint without it can say so.
  if (std::string lib = modelLibraryOf(info.model); !lib.empty())
    ckpt.metadata["model_lib"] = std::filesystem::absolute(lib).lexically_normal().string();
}

ModelInfo readModelInfo(const std::map<std::string, std::string>& metadata, const std::string& path) {
  auto get = [&](const char* key) -> const std::string& {
    auto it = metadata.find(key);
    if (it == metadata.end())
      throw Error(fmt::format("{}: error: not a graphc checkpoint (its metadata has no '{}')", path, key));
    return it->second;
  };
  if (get("format") != "graphc-checkpoint-1")
    throw Error(fmt::format("{}: error: unsupported checkpoint format '{}'", path, escapeForMessage(get("format"))));
  ModelInfo info;
  info.model = get("model");
  try {
    // Whole numbers in the ranges the command line accepts: "16junk" or 2^24 layers are refused.
    auto whole = [&](const char* key, int64_t lo, int64_t hi) {
      const std::string& v = get(key);
      int64_t x = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
      if (ec != std::errc() || end != v.data() + v.size() || x < lo || x > hi)
        throw Error(fmt::format("{}: error: the checkpoint's {} is '{}', not a whole number in {}..{}", path, key,
                                escapeForMessage(v), lo, hi));
      return x;
    };
    info.config.hidden = whole("hidden", 1, 1 << 14);
    info.config.numLayers = whole("num_layers", 1, 16);
    // Word vocabularies decode with spaces between tokens; the text mode says which kind it is.
    auto text = metadata.find("text");
    bool words = text != metadata.end() && text->second == "words";
    info.vocab = Vocab(nlohmann::json::parse(get("vocab")).get<std::vector<std::string>>(),
                       words ? TextMode::Words : TextMode::Chars);
    if (auto it = metadata.find("settings"); it != metadata.end())
      for (const auto& [name, value] : nlohmann::json::parse(it->second).get<std::map<std::string, double>>()) {
        if (!std::isfinite(value)) throw Error(fmt::format("{}: error: the checkpoint's setting '{}' is not finite", path, name));
        info.config.settings[name] = value;
      }
  } catch (const Error&) {
    throw;
  } catch (const std::exception&) {
    throw Error(fmt::format("{}: error: corrupt checkpoint metadata", path));
  }
  if (info.vocab.size() < 2) throw Error(fmt::format("{}: error: the checkpoint's vocabulary is empty", path));
  if (info.vocab.size() > (1 << 20))
    throw Error(fmt::format("{}: error: the checkpoint's vocabulary has {} tokens, more than 1048576", path,
                            info.vocab.size()));
  info.config.vocab = info.vocab.size();
  return info;
}

TrainedModel loadTrainedModel(const std::string& path, const std::string& expectedModel) {
  TrainedModel t;
  CheckpointIndex index = readCheckpointIndex(path);
  t.info = readModelInfo(index.metadata, path);
  if (!expectedModel.empty() && expectedModel != t.info.model)
    throw Error(fmt::format("{}: error: the checkpoint holds model '{}', not '{}'", path, escapeForMessage(t.info.model),
                            escapeForMessage(expectedModel)));
  try {
    t.model = &findModel(t.info.model);
  } catch (const UnknownNameError&) {
    auto lib = index.metadata.find("model_lib");
    if (lib == index.metadata.end()) throw;
    throw Error(fmt::format("{}: error: the checkpoint's model '{}' comes from a plugin library: pass --model-lib {}",
                            path, escapeForMessage(t.info.model), escapeForMessage(lib->second, 200)));
  }
  std::set<std::string> params;
  try {
    ModelConfig c = t.info.config;
    c.batchSize = c.numSteps = 1;
    auto typeOf = [&](const std::string& name) -> const TensorType* {
      auto it = index.tensors.find(name);
      return it == index.tensors.end() ? nullptr : &it->second.type;
    };
    for (const std::string& name : checkParamTypes(buildStepGraph(*t.model, c), t.model->name, typeOf)) params.insert(name);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: error: {}", path, e.what()));
  }
  t.checkpoint = readCheckpointTensors(path, index, &params);
  return t;
}

void addOptimizerFlags(CLI::App* cmd, OptimizerConfig& optimizer) {
  cmd->add_option("--lr", optimizer.learningRate, "Learning rate (> 0)")
      ->check(finiteNumber(0, 3e38))
      ->capture_default_str();
  cmd->add_option("--clip", optimizer.clipNorm, "Clip gradients to this global norm (0: no clipping)")
      ->check(finiteNumber(0, 3e38))
      ->capture_default_str();
  cmd->add_option("--optimizer", optimizer.kind, "sgd, momentum, adam or adamw (Adam with decoupled weight decay)")
      ->check(CLI::IsMember({"sgd", "momentum", "adam", "adamw"}))
      ->capture_default_str();
  cmd->add_option("--weight-decay", optimizer.weightDecay,
                  "Decay weights and embeddings, not biases: L2 added to the gradient (adamw: decoupled, p -= lr wd p)")
      ->check(finiteNumber(0, 1e3))
      ->capture_default_str();
  cmd->add_option("--momentum", optimizer.momentum, "Momentum for --optimizer momentum")
      ->check(finiteNumber(0, 1))
      ->capture_default_str();
  cmd->add_option("--beta1", optimizer.beta1, "Adam's decay of the gradient's running mean, in [0, 1)")
      ->check(finiteNumber(0, 0.999999))
      ->capture_default_str();
  cmd->add_option("--beta2", optimizer.beta2, "Adam's decay of the squared gradient's running mean, in [0, 1) (nanoGPT: 0.99)")
      ->check(finiteNumber(0, 0.999999))
      ->capture_default_str();
}

void addEngineFlags(CLI::App* cmd, std::string& engine, std::string& cacheDir, std::string& targetCpu) {
  cmd->add_option("--engine", engine, "jit: compiled native code; interp: the reference interpreter")
      ->check(CLI::IsMember({"jit", "interp"}))
      ->capture_default_str();
  cmd->add_option("--cache-dir", cacheDir, "Compiled-object cache (default: $XDG_CACHE_HOME/graphc or ~/.cache/graphc)");
  cmd->add_option("--target-cpu", targetCpu,
                  "CPU the JIT generates code for: host, or an LLVM CPU name this CPU can run (x86-64-v3, ...)")
      ->capture_default_str();
}

void addModelLibFlag(CLI::App* cmd, std::vector<std::string>& libs) {
  cmd->add_option("--model-lib", libs, "Load models from this plugin library first (repeatable)");
}

bool stdoutIsTerminal() { return isatty(STDOUT_FILENO) != 0; }

std::string dotPicture(const Graph& g, const DotOptions& options) {
  std::string dot = printDot(g, options);
  if (options.collapseRepeats) return dot;
  size_t edges = 0;
  for (size_t at = dot.find("->"); at != std::string::npos; at = dot.find("->", at + 2)) ++edges;
  if (edges > kMaxExpandedEdges)
    throw Error(fmt::format("--expand: the picture would have {} edges; Graphviz takes minutes to lay out more than {} "
                            "(over two for 958). Drop --expand (repeated time steps drawn once), or give fewer --num-steps",
                            edges, kMaxExpandedEdges));
  return dot;
}

namespace {
// How the step runs its output layer and loss when fuse-linear-cross-entropy fused them ("" when not).
std::string fusedOutputLayer(const Graph& g) {
  for (OpKind op : {OpKind::LinearCrossEntropyTrain, OpKind::LinearCrossEntropyGrad, OpKind::LinearCrossEntropy}) {
    auto nodes = g.nodesOf(op);
    if (nodes.empty()) continue;
    const Node& n = g.node(nodes.front());
    const int64_t rows = g.type(n.operands[0]).shape[0], v = g.type(n.operands[2]).shape[0];
    const char* how = op == OpKind::LinearCrossEntropyTrain ? "made once, a block of rows at a time"
                      : op == OpKind::LinearCrossEntropyGrad ? "made twice, a vocabulary chunk at a time"
                                                             : "made a vocabulary chunk at a time";
    return fmt::format("{} ({} x {} logits never whole: {})", opName(op), rows, v, how);
  }
  return "";
}
}  // namespace

std::string statsText(const Graph& g, const std::vector<PassTiming>& passes, const CompileReport& r) {
  int64_t fused = int64_t(g.nodesOf(OpKind::Fused).size());
  double passSeconds = 0;
  for (const auto& p : passes) passSeconds += p.seconds;
  std::string out = "graphc stats\n";
  out += fmt::format("  kernels             {} ({} fused elementwise, {} distinct compiled)\n", countKernels(g), fused,
                     r.module.uniqueKernels);
  out += fmt::format("  runtime calls       {} (matmul, gather, reductions, ...)\n", r.module.runtimeCalls);
  out += fmt::format("  product epilogues   {} (fused kernels run inside a product, on each thread's columns)\n",
                     r.module.epilogues);
  out += fmt::format("  product kernels     {} generated micro-kernels (one per tile height and panel width)\n",
                     r.module.tileKernels);
  std::string loops;
  for (const auto& l : r.module.loops) loops += fmt::format("{}{}x{}", loops.empty() ? "" : ", ", l.repetitions, l.bodyCalls);
  out += fmt::format("  entry calls         {} ({} in {} re-rolled loop{}{}{})\n", r.module.entryCalls,
                     r.module.rolledCalls, r.module.loops.size(), r.module.loops.size() == 1 ? "" : "s",
                     loops.empty() ? "" : ": repetitions x body calls ", loops);
  if (std::string layer = fusedOutputLayer(g); !layer.empty())
    out += fmt::format("  output layer        {}\n", layer);
  if (g.attrs.count("arena_bytes"))
    out += fmt::format("  arena bytes         {} ({:.2f} MiB)\n", attr::arenaBytes(g.attrs),
                       double(attr::arenaBytes(g.attrs)) / (1 << 20));
  out += fmt::format("  FLOPs per step      {} ({:.3f} GFLOP)\n", estimateFlops(g), double(estimateFlops(g)) * 1e-9);
  out += fmt::format("  compile seconds     passes {:.3f}, LLVM IR {:.3f}, optimize {:.3f}, codegen {:.3f}, load {:.3f}\n",
                     passSeconds, r.irSeconds, r.optimizeSeconds, r.codegenSeconds, r.loadSeconds);
  out += fmt::format("  object cache        {}{}\n", r.cacheFile.empty() ? "off" : (r.cacheHit ? "hit " : "miss "),
                     r.cacheFile);
  return out;
}

}  // namespace graphc::cli
