// models/ModelInterface.h — what a model is to graphc, in graph terms: a
// function that builds logits from token ids with the DSL, its defaults, and
// the wrappers that make it a forward graph (with the loss) or a one-step
// graph. The runtime trains and generates through this interface alone; the
// registry of built-in and plugin models lives in models/Model.h.
//
// A model maps token ids X [batch, steps] to logits [steps*batch, vocab]
// (time-major rows, as d2l concatenates the per-step outputs). It declares its
// own params and state, and registers the update that carries its final state.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "graph/Builder.h"

namespace graphc {

struct ModelConfig {
  // hidden = 0 and numLayers = 0 where a flag may leave them unset: the
  // model's own defaults (withModelDefaults) are filled in before the graph
  // is built.
  int64_t batchSize = 32;
  int64_t numSteps = 35;
  int64_t hidden = 512;
  int64_t vocab = 28;
  int64_t numLayers = 1;
  // True in the training step's graph: what only training does (dropout) is built.
  bool training = false;
  // True in the one-step generation graph (buildStepGraph): a model may keep
  // what later steps need as state there (a transformer's keys and values).
  bool generating = false;
  // The model's own hyperparameters by name (`--set embed=64`); the ones not
  // given take the defaults the model declares.
  std::map<std::string, double> settings;

  // A hyperparameter the model declared (ModelDef::hyperparameters). Throws
  // naming it when it was not declared.
  double setting(const std::string& name) const;
  // The setting as a whole number in [lo, hi]; throws "--set NAME=V: must be ..." otherwise.
  int64_t wholeSetting(const std::string& name, int64_t lo, int64_t hi) const;
  // The setting "dropout", a rate in [0, 1); throws naming --set otherwise.
  double dropoutRate() const;
};

struct Hyperparameter {
  std::string name;  // what `--set NAME=VALUE` sets
  double defaultValue;
  std::string description;
};

using ModelBuildFn = std::function<Value(Builder& b, Value tokens, const ModelConfig& config)>;

struct ModelDef {
  std::string name;
  std::string description;
  int64_t defaultHidden;
  ModelBuildFn build;
  // Whether it honours ModelConfig::numLayers. One that says so and builds
  // the same graph for 2 layers as for 1 is refused, not silently run.
  bool stacksLayers = true;
  std::vector<Hyperparameter> hyperparameters = {};
  int64_t defaultLayers = 1;
};

// A config whose hidden size and layers are 0 ("the model's default"), for command lines.
inline ModelConfig configWithModelDefaults() {
  ModelConfig c;
  c.hidden = 0;
  c.numLayers = 0;
  return c;
}

// `c` with what it leaves unset taken from the model: hidden, layers, and
// every declared hyperparameter not in c.settings. Throws "--set: ..." for a
// setting the model does not declare.
ModelConfig withModelDefaults(const ModelDef& model, ModelConfig c);

// "NAME=VALUE" (a finite number), or several separated by commas, into
// config.settings; throws naming --set.
void parseSetting(const std::string& list, ModelConfig& config);
void parseOneSetting(const std::string& text, ModelConfig& config);

// The forward graph: inputs X and Y (i32 [batch, steps]), outputs "logits"
// and "loss" (mean cross-entropy over all steps*batch tokens), and the
// model's state updates.
Graph buildModelGraph(const ModelDef& model, const ModelConfig& config);

// The one-step generation graph: X is [batch, 1], output "logits" [batch, vocab].
Graph buildStepGraph(const ModelDef& model, const ModelConfig& config);

}  // namespace graphc
