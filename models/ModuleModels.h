// models/ModuleModels.h — the Flax-style models built from models/Layers.h:
// rnn, gru and lstm (one-hot input, stacked cells, one dense output layer).
#pragma once

#include "models/Model.h"

namespace graphc {

Value buildRnnModule(Builder& b, Value tokens, const ModelConfig& config);
Value buildGruModule(Builder& b, Value tokens, const ModelConfig& config);
Value buildLstmModule(Builder& b, Value tokens, const ModelConfig& config);

}  // namespace graphc
