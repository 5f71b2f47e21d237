// graph/ModelInterface.h — what a model is to graphc, in graph terms: a
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
#include <string>

#include "graph/Builder.h"

namespace graphc {

struct ModelConfig {
  // hidden = 0 where a flag may leave it unset: the model's own default
  // (ModelDef::defaultHidden) is filled in before the graph is built.
  int64_t batchSize = 32;
  int64_t numSteps = 35;
  int64_t hidden = 512;
  int64_t vocab = 28;
  int64_t numLayers = 1;
};

using ModelBuildFn = std::function<Value(Builder& b, Value tokens, const ModelConfig& config)>;

struct ModelDef {
  std::string name;
  std::string description;
  int64_t defaultHidden;
  ModelBuildFn build;
  bool stacksLayers = true;  // whether it honours ModelConfig::numLayers
};

// A config whose hidden size is 0 ("the model's default"), for command lines.
inline ModelConfig configWithModelDefaults() {
  ModelConfig c;
  c.hidden = 0;
  return c;
}

// The forward graph: inputs X and Y (i32 [batch, steps]), outputs "logits"
// and "loss" (mean cross-entropy over all steps*batch tokens), and the
// model's state updates.
Graph buildModelGraph(const ModelDef& model, const ModelConfig& config);

// The one-step generation graph: X is [batch, 1], output "logits" [batch, vocab].
Graph buildStepGraph(const ModelDef& model, const ModelConfig& config);

}  // namespace graphc
