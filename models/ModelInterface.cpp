// models/ModelInterface.cpp — a model's forward and one-step graphs.
#include "models/ModelInterface.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

namespace graphc {

namespace {

// Graph names are IR identifiers: "rnn-scratch" becomes "rnn_scratch".
std::string sanitizeName(std::string s) {
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) c = '_';
  return s;
}

void checkConfig(const ModelConfig& c) {
  auto positive = [](const char* what, int64_t v) {
    if (v <= 0 || v > (int64_t(1) << 24)) throw Error(fmt::format("{} must be in 1..16777216, got {}", what, v));
  };
  positive("batch size", c.batchSize);
  positive("num steps", c.numSteps);
  positive("hidden size", c.hidden);
  positive("vocab size", c.vocab);
  positive("num layers", c.numLayers);
}

}  // namespace

double ModelConfig::setting(const std::string& name) const {
  auto it = settings.find(name);
  if (it == settings.end())
    throw Error(fmt::format("the model reads hyperparameter '{}', which it does not declare (ModelDef::hyperparameters)",
                            escapeForMessage(name)));
  return it->second;
}

int64_t ModelConfig::wholeSetting(const std::string& name, int64_t lo, int64_t hi) const {
  double v = setting(name);
  if (v != double(int64_t(v)) || v < double(lo) || v > double(hi))
    throw Error(fmt::format("--set {}={}: must be a whole number in {}..{}", name, v, lo, hi));
  return int64_t(v);
}

double ModelConfig::dropoutRate() const {
  const double rate = setting("dropout");
  if (!(rate >= 0 && rate < 1)) throw Error(fmt::format("--set dropout={}: must be in [0, 1)", rate));
  return rate;
}

ModelConfig withModelDefaults(const ModelDef& model, ModelConfig c) {
  if (c.hidden == 0) c.hidden = model.defaultHidden;
  if (c.numLayers == 0) c.numLayers = model.stacksLayers ? model.defaultLayers : 1;
  for (const auto& [name, value] : c.settings) {
    bool declared = false;
    std::vector<std::string> names;
    for (const Hyperparameter& h : model.hyperparameters) {
      declared |= h.name == name;
      names.push_back(h.name);
    }
    if (!declared)
      throw UnknownNameError(fmt::format("--set: model '{}' has no hyperparameter '{}' ({})", model.name,
                                         escapeForMessage(name),
                                         names.empty() ? "it declares none" : fmt::format("it has: {}", fmt::join(names, ", "))),
                             name, names);
  }
  for (const Hyperparameter& h : model.hyperparameters) c.settings.try_emplace(h.name, h.defaultValue);
  return c;
}

void parseSetting(const std::string& list, ModelConfig& config) {
  // NAME=VALUE, or several separated by commas (n=5,m=60).
  for (size_t start = 0; start <= list.size();) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    parseOneSetting(list.substr(start, comma - start), config);
    start = comma + 1;
  }
}

void parseOneSetting(const std::string& text, ModelConfig& config) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(fmt::format("--set: '{}' is not NAME=VALUE", escapeForMessage(text)));
  std::string value = text.substr(eq + 1);
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v))
    throw Error(fmt::format("--set: '{}' is not a finite number (in {})", escapeForMessage(value), escapeForMessage(text)));
  config.settings[text.substr(0, eq)] = v;
}

void checkLayers(const ModelDef& model, const ModelConfig& c) {
  if (!model.stacksLayers && c.numLayers != 1)
    throw Error(fmt::format("--num-layers: model '{}' has a single layer (stacking applies to rnn, gru, lstm)", model.name));
}

namespace {

int64_t paramCount(const Graph& g) {
  int64_t n = 0;
  for (const Node& node : g.nodes)
    if (node.op == OpKind::Param) n += node.type.numElements();
  return n;
}

// A model that says it stacks layers and builds the same params for N layers
// as for 1 ignores --num-layers: refused, so that no one trains the wrong size.
void checkLayersHonoured(const ModelDef& model, const ModelConfig& c, const Graph& built) {
  if (c.numLayers == 1 || !model.stacksLayers) return;
  ModelConfig one = c;
  one.numLayers = 1;
  Graph g;
  Builder b(g);
  Value X = b.input("X", DType::I32, {c.batchSize, c.numSteps});
  model.build(b, X, one);
  if (paramCount(g) == paramCount(built))
    throw Error(fmt::format("--num-layers {}: model '{}' builds the same parameters as with 1 layer (it ignores the "
                            "setting; declare stacksLayers = false or stack with nn::Stack)",
                            c.numLayers, model.name));
}

}  // namespace

// What a model's build function returned, checked before anything uses it:
// a plugin may return an empty Value, and a size flag may ask for a model no
// machine holds. The same limit applies to train and generate, before any
// memory is allocated for the parameters.
constexpr int64_t kMaxParamBytes = int64_t(4) << 30;  // the largest checkpoint graphc reads

// The model's graph from its build function; an error names the model, the
// scope the build was in when it failed and the line of the model's code
// whose builder call failed.
static Value built(const ModelDef& model, Builder& b, Value X, const ModelConfig& c) {
  try {
    return model.build(b, X, c);
  } catch (const Error& e) {
    std::string scope = b.failedScope().empty() ? "" : fmt::format(" (in scope '{}')", b.failedScope());
    std::string call = b.failedCall().empty() ? "" : fmt::format(" at {}", b.failedCall());
    throw Error(fmt::format("model '{}'{}{}: {}", model.name, scope, call, e.what()));
  }
}

static Value checkedLogits(const ModelDef& model, const ModelConfig& c, const Graph& g, Value logits) {
  if (logits.id() < 0 || size_t(logits.id()) >= g.size())
    throw Error(fmt::format("model '{}' returned no value for its logits", model.name));
  // The contract's shape: a row per (step, sequence), a column per vocabulary entry.
  const TensorType& t = g.type(logits.id());
  const int64_t rows = c.numSteps * c.batchSize;
  if (t.dtype != DType::F32 || t.rank() != 2 || t.shape[0] != rows || t.shape[1] != c.vocab)
    throw Error(fmt::format("model '{}': its logits are {}; they must be f32[{},{}]: one row per step and sequence "
                            "({} steps x {} sequences, time-major) and one column per vocabulary entry ({})",
                            model.name, str(t), rows, c.vocab, c.numSteps, c.batchSize, c.vocab));
  int64_t bytes = 0;
  for (const Node& n : g.nodes)
    if (n.op == OpKind::Param) bytes += n.type.numElements() * 4;
  if (bytes > kMaxParamBytes)
    throw Error(fmt::format("model '{}' at this size has {:.1f} GiB of parameters, more than the 4 GiB graphc "
                            "trains or generates with (lower --hidden or --num-layers)",
                            model.name, double(bytes) / double(int64_t(1) << 30)));
  return logits;
}

Graph buildModelGraph(const ModelDef& model, const ModelConfig& config) {
  ModelConfig c = withModelDefaults(model, config);
  checkConfig(c);
  checkLayers(model, c);
  Graph g;
  g.name = sanitizeName(model.name);
  Builder b(g);
  Value X = b.input("X", DType::I32, {c.batchSize, c.numSteps});
  Value Y = b.input("Y", DType::I32, {c.batchSize, c.numSteps});
  Value logits = checkedLogits(model, c, g, built(model, b, X, c));
  checkLayersHonoured(model, c, g);
  // Targets in the logits' time-major row order.
  Value labels = reshape(transpose(Y, {1, 0}), {c.numSteps * c.batchSize});
  b.output("logits", logits);
  b.output("loss", reduceMean(softmaxCrossEntropy(logits, labels), {0}));
  return g;
}

Graph buildStepGraph(const ModelDef& model, const ModelConfig& config) {
  ModelConfig c = withModelDefaults(model, config);
  c.numSteps = 1;
  c.generating = true;
  checkConfig(c);
  checkLayers(model, c);
  Graph g;
  g.name = sanitizeName(model.name) + "_step";
  Builder b(g);
  Value X = b.input("X", DType::I32, {c.batchSize, 1});
  b.output("logits", checkedLogits(model, c, g, built(model, b, X, c)));
  checkLayersHonoured(model, c, g);
  return g;
}

}  // namespace graphc
