// graph/ModelInterface.cpp — a model's forward and one-step graphs.
#include "graph/ModelInterface.h"

#include <cctype>
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

void checkLayers(const ModelDef& model, const ModelConfig& c) {
  if (!model.stacksLayers && c.numLayers != 1)
    throw Error(fmt::format("--num-layers: model '{}' has a single layer (stacking applies to rnn, gru, lstm)", model.name));
}

// What a model's build function returned, checked before anything uses it:
// a plugin may return an empty Value, and a size flag may ask for a model no
// machine holds. The same limit applies to train and generate, before any
// memory is allocated for the parameters.
constexpr int64_t kMaxParamBytes = int64_t(4) << 30;  // the largest checkpoint graphc reads

static Value checkedLogits(const ModelDef& model, const Graph& g, Value logits) {
  if (logits.id() < 0 || size_t(logits.id()) >= g.size())
    throw Error(fmt::format("model '{}' returned no value for its logits", model.name));
  int64_t bytes = 0;
  for (const Node& n : g.nodes)
    if (n.op == OpKind::Param) bytes += n.type.numElements() * 4;
  if (bytes > kMaxParamBytes)
    throw Error(fmt::format("model '{}' at this size has {:.1f} GiB of parameters, more than the 4 GiB graphc "
                            "trains or generates with (lower --hidden or --num-layers)",
                            model.name, double(bytes) / double(int64_t(1) << 30)));
  return logits;
}

Graph buildModelGraph(const ModelDef& model, const ModelConfig& c) {
  checkConfig(c);
  checkLayers(model, c);
  Graph g;
  g.name = sanitizeName(model.name);
  Builder b(g);
  Value X = b.input("X", DType::I32, {c.batchSize, c.numSteps});
  Value Y = b.input("Y", DType::I32, {c.batchSize, c.numSteps});
  Value logits = checkedLogits(model, g, model.build(b, X, c));
  // Targets in the logits' time-major row order.
  Value labels = reshape(transpose(Y, {1, 0}), {c.numSteps * c.batchSize});
  b.output("logits", logits);
  b.output("loss", reduceMean(softmaxCrossEntropy(logits, labels), {0}));
  return g;
}

Graph buildStepGraph(const ModelDef& model, const ModelConfig& config) {
  ModelConfig c = config;
  c.numSteps = 1;
  checkConfig(c);
  checkLayers(model, c);
  Graph g;
  g.name = sanitizeName(model.name) + "_step";
  Builder b(g);
  Value X = b.input("X", DType::I32, {c.batchSize, 1});
  b.output("logits", checkedLogits(model, g, model.build(b, X, c)));
  return g;
}

}  // namespace graphc
