// passes/Pipelines.h — the default pipelines, in one place, as lists of pass names.
#pragma once

namespace graphc {

// After autodiff: fold, CSE and DCE to a fixed point, then one-hot products
// become row gathers, and BPTT's per-step weight-gradient products merge into
// single large ones.
// Then merge products sharing a left operand (a GRU/LSTM step's gates) into wider ones.
inline constexpr const char* kOptimizePipeline = "simplify,onehot-gather,batch-matmul,simplify,merge-products,simplify";

// Before code generation: shared weights packed once per step, overlapping
// concatenations shared, elementwise fusion, then arena offsets (with views
// and in-place concatenation).
inline constexpr const char* kLowerPipeline = "pack-weights,share-concats,fuse,plan";

}  // namespace graphc
