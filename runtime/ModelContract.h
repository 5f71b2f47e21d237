// runtime/ModelContract.h — the logits contract of models/ModelInterface.h,
// checked on a model graphc did not write (a plugin's): row t * batch + b of
// the logits is step t of sequence b, and depends on no other sequence and
// no later step. The shape is checked whenever a model is built; the order
// needs values, so this runs the model once on the reference interpreter.
#pragma once

#include "models/ModelInterface.h"

namespace graphc {

// Runs the model at 2 sequences x 3 steps (its other settings as `config`
// gives them) on random parameters, changes the token of sequence 0 at step
// 1, and checks that exactly the rows of sequence 0 from step 1 on change.
// Throws graphc::Error saying what it found otherwise.
void checkLogitsOrder(const ModelDef& model, const ModelConfig& config);

}  // namespace graphc
