// models/RnnScratch.h — d2l's "RNN from scratch", written in raw ops.
#pragma once

#include "models/Model.h"

namespace graphc {

Value buildRnnScratch(Builder& b, Value tokens, const ModelConfig& config);

}  // namespace graphc
