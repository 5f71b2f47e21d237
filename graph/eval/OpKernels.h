// graph/eval/OpKernels.h — the reference evaluator's per-op functions, by
// file: Movement.cpp (data movement and indexing), Reductions.cpp (reductions
// and rows), Products.cpp (matrix products), LinearCrossEntropy.cpp. Internal to graph/eval.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/Graph.h"
#include "graph/eval/Tensor.h"

namespace graphc::eval {

// Calls fn(linearIndex, multiIndex) for every element of `shape` in row-major order.
template <typename Fn>
void forEachIndex(const Shape& shape, Fn fn) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    fn(i, idx);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

// An index an op reads through, checked: throws naming the node when outside [0, limit).
int64_t checkIndex(int64_t idx, int64_t limit, const Node& n);

Tensor broadcastOp(const Node& n, const Tensor& in);
Tensor reshapeOp(const Node& n, const Tensor& in);
Tensor transposeOp(const Node& n, const Tensor& in);
Tensor sliceOp(const Node& n, const Tensor& in);
Tensor padOp(const Node& n, const Tensor& in);
Tensor concatOp(const Node& n, const std::vector<const Tensor*>& in);
Tensor iotaOp(const Node& n);
Tensor oneHotOp(const Node& n, const Tensor& idx);
Tensor gatherOp(const Node& n, const Tensor& table, const Tensor& idx);
Tensor scatterAddOp(const Node& n, const Tensor& updates, const Tensor& idx);
Tensor randomUniformOp(const Node& n, const Tensor& key);

Tensor reduceOp(const Node& n, const Tensor& in);
Tensor argmaxOp(const Node& n, const Tensor& in);
Tensor sumSquaresOp(const Node& n, const Tensor& in);
Tensor logSoftmaxOp(const Node& n, const Tensor& in);
Tensor softmaxCrossEntropyOp(const Node& n, const Tensor& logits, const Tensor& labels);
// LinearCrossEntropy.cpp
Tensor linearCrossEntropyOp(const Node& n, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& labels);
Tensor linearCrossEntropyGradOp(const Node& n, const std::vector<const Tensor*>& in);
Tensor linearCrossEntropyTrainOp(const Node& n, const std::vector<const Tensor*>& in);

Tensor matmulOp(const Node& n, const Tensor& a, const Tensor& b);
Tensor packPanelsOp(const Node& n, const Tensor& b);
Tensor packedMatmulOp(const Node& n, const Tensor& a, const Tensor& packed);

}  // namespace graphc::eval
