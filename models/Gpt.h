// models/Gpt.h — a GPT-style causal transformer (nanoGPT's model.py): token
// and position embeddings, `numLayers` pre-norm blocks of causal multi-head
// self-attention and a GELU MLP, a final layer norm, and the output layer
// tied to the token embedding. `hidden` is the embedding width.
//
// The one-step generation graph keeps every layer's keys and values of the
// last `context` positions as state (a KV cache, carried step to step as an
// RNN's hidden state), so a token costs one position's work, not the whole
// context's. Up to `context` tokens it computes what the full model computes;
// past that the cache rolls: the oldest position leaves, and the new one takes
// the last position embedding (nanoGPT instead re-runs the cropped context).
#pragma once

#include "models/Model.h"

namespace graphc {

Value buildGpt(Builder& b, Value tokens, const ModelConfig& config);

extern const std::vector<Hyperparameter> kGptHyperparameters;

}  // namespace graphc
