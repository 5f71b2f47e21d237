// passes/TrainStep.h — turns a forward graph into one whole training step:
// gradients, global-norm clipping and the optimizer update, all in-graph.
#pragma once

#include <string>

#include "graph/Graph.h"

namespace graphc {

struct OptimizerConfig {
  std::string kind = "sgd";  // sgd | momentum | adam | adamw
  double learningRate = 1.0;
  // L2 on weights and embeddings (params of rank >= 2; biases are not
  // decayed), added to the clipped gradient; adamw decouples it from the
  // gradient's scaling (p -= lr * wd * p), as Loshchilov & Hutter.
  double weightDecay = 0;
  // The learning rate is the scalar input "lr", set every step (a schedule),
  // rather than the constant learningRate.
  bool learningRateInput = false;
  double momentum = 0.9;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double clipNorm = 1.0;  // <= 0: no clipping
};

// Throws naming the bad field (unknown kind, negative rate, ...).
void validate(const OptimizerConfig& c);

// Differentiates output "loss" with respect to every param (or takes the
// outputs grad.<param> when the graph has one for every param, and drops
// them from the outputs: `autodiff,data-parallel{ranks=N},train-step`); clips the
// gradients to a global norm of clipNorm (g *= min(1, clip/||g||), the norm
// over all params together); updates every param and the optimizer state
// (state nodes with role = "optimizer", zero at the start). Adds output
// "grad_norm", the norm before clipping, and drops the output "logits" (no
// one reads them from a training step).
void appendTrainingStep(Graph& g, const OptimizerConfig& c);

}  // namespace graphc
