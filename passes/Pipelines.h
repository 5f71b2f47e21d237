// passes/Pipelines.h — the default pipelines, in one place, as pass lists.
// runtime/Pipeline.h puts them in order for a model and a target.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "passes/TrainingStep.h"

namespace graphc {

// Before autodiff (on the model's forward graph): softmax attention becomes
// one op, whose gradient rule then recomputes its scores instead of keeping them.
inline constexpr const char* kBeforeAutodiffPipeline = "fuse-attention";

// After autodiff: fold, CSE and DCE to a fixed point, then a large output
// layer and its loss stop holding their logits, one-hot products become row gathers, and BPTT's per-step weight-gradient products merge into
// single large ones.
// Then merge products sharing a left operand (a GRU/LSTM step's gates) into wider ones.
std::string optimizePipeline(int64_t fuseLossMinBytes);

// `--fused-loss`'s choices (auto, on, off) as fuse-linear-cross-entropy's min-bytes.
inline const std::vector<std::string> kFusedLossChoices = {"auto", "on", "off"};
int64_t fusedLossMinBytes(const std::string& choice);

// The training step as a pass with its options:
// "train-step{optimizer=sgd,lr=1,clip=1,...}" (what `graphc opt` needs to run
// exactly the step `graphc train` builds).
std::string trainStepPass(const OptimizerConfig& c);

// Before code generation: shared weights packed once per step into panels of
// the target's width, overlapping concatenations shared, elementwise fusion,
// then arena offsets (with views and in-place concatenation).
std::string lowerPipeline(int64_t panelWidth);

}  // namespace graphc
