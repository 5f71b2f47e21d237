// models/WordModels.h — word-level language models: Bengio et al.'s neural
// probabilistic language model (nplm) and embedding + LSTM/GRU stacks with an
// optionally tied output layer (lstm-lm, gru-lm).
#pragma once

#include "models/Model.h"

namespace graphc {

// Bengio, Ducharme, Vincent, Jauvin (2003): the n-1 previous words'
// embeddings (m wide) side by side, a tanh layer of `hidden` units, and the
// softmax over b + U tanh(d + H x) (+ W x with direct connections). The last
// n-2 tokens of a window are carried as state into the next one.
Value buildNplm(Builder& b, Value tokens, const ModelConfig& config);

// Embedding (`embed` wide; 0: the hidden width), `numLayers` recurrent
// layers, dropout on the embeddings, between layers and before the output
// (when training), and a dense output layer, or the embedding table itself
// when `tie` is 1 (its width must then be the hidden width).
Value buildLstmLm(Builder& b, Value tokens, const ModelConfig& config);
Value buildGruLm(Builder& b, Value tokens, const ModelConfig& config);

extern const std::vector<Hyperparameter> kNplmHyperparameters, kRecurrentLmHyperparameters;

}  // namespace graphc
