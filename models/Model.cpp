// models/Model.cpp — the model registry and the graph wrappers around a model.
#include "models/Model.h"

#include <fmt/format.h>

#include "models/Gpt.h"
#include "models/ModuleModels.h"
#include "models/RnnScratch.h"
#include "models/WordModels.h"

namespace graphc {

namespace {

// The built-in models are the registry's first entries; plugins append.
size_t builtinCount = 0;

std::vector<ModelDef>& registry() {
  static std::vector<ModelDef> models = {
      {"rnn-scratch", "d2l's RNN from scratch: one-hot input, tanh cell, dense output, N(0, 0.01) weights", 512,
       buildRnnScratch, false},
      {"rnn", "Flax-style RNN module: dense input, bias-free recurrent dense, tanh, dense output", 256, buildRnnModule},
      {"gru", "Flax-style GRU cell unrolled over time, dense output", 256, buildGruModule},
      {"lstm", "Flax-style LSTM cell, state (h, c), dense output", 256, buildLstmModule},
      {"nplm", "Bengio et al. 2003: n-1 word embeddings, tanh hidden layer, softmax (+ direct connections)", 50,
       buildNplm, false, kNplmHyperparameters},
      {"lstm-lm", "word-level LSTM: embedding, stacked LSTM layers, dropout, dense or tied output", 256, buildLstmLm,
       true, kRecurrentLmHyperparameters},
      {"gru-lm", "word-level GRU: embedding, stacked GRU layers, dropout, dense or tied output", 256, buildGruLm, true,
       kRecurrentLmHyperparameters},
      {"gpt", "GPT-style transformer (nanoGPT): token + position embeddings, causal attention blocks, tied output",
       128, buildGpt, true, kGptHyperparameters, 4},
  };
  if (builtinCount == 0) builtinCount = models.size();
  return models;
}

}  // namespace

const std::vector<ModelDef>& allModels() { return registry(); }

bool isBuiltinModel(const std::string& name) {
  const std::vector<ModelDef>& models = registry();
  for (size_t i = 0; i < builtinCount && i < models.size(); ++i)
    if (models[i].name == name) return true;
  return false;
}

void registerModel(ModelDef model) {
  for (const auto& m : registry())
    if (m.name == model.name) throw Error(fmt::format("a model named '{}' is already registered", model.name));
  registry().push_back(std::move(model));
}

const ModelDef& findModel(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& m : registry()) {
    if (m.name == name) return m;
    names.push_back(m.name);
  }
  throw UnknownNameError(fmt::format("unknown model '{}' (known: {})", escapeForMessage(name), fmt::join(names, ", ")), name,
                         std::vector<std::string>(names.begin(), names.end()));
}

}  // namespace graphc
