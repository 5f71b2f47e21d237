// graph/eval/Attention.h — the reference evaluator's attention and its
// gradient: the textbook computation (every score of a row, then its
// softmax), in double, against which the fused kernels are checked.
#pragma once

#include "graph/Graph.h"
#include "graph/eval/Tensor.h"

namespace graphc {

// `attention` (graph/Op.def): [entries, T, D + 1], outputs then logsumexps.
Tensor attentionReference(const Node& n, const Tensor& q, const Tensor& k, const Tensor& v);
// `attention_grad`: [3, entries, T, D], dq, dk, dv.
Tensor attentionGradReference(const Node& n, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& y,
                              const Tensor& dy);

}  // namespace graphc
