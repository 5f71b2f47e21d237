// graph/Analysis.h — facts computed from a graph: products, FLOPs and kernel counts.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/Graph.h"

namespace graphc {

// A matmul of 2-d operands. The passes that rewrite products (merging,
// batching, packing, one-hot gathers) take only these; a batched product
// (rank > 2: attention's) is lowered as it is, one 2-d product per batch entry.
bool isMatrixProduct(const Node& n);

// The contraction length K of a matmul or packed_matmul: op(A)'s last dimension.
int64_t contractionLength(const Graph& g, const Node& product);

// The number of 2-d products a (batched) matmul is: the product of its leading dimensions.
int64_t batchCount(const TensorType& product);

// Floating-point operations one run performs: 2*M*N*K per matmul, one per
// element per elementwise op (inside fused kernels too), one per input
// element for reductions, and a handful per element for softmax ops.
int64_t estimateFlops(const Graph& g);

// Nodes that do work at run time (everything but inputs, params and state).
int64_t countKernels(const Graph& g);

// When each node runs, as an inclusive range of node indices. A packed product
// and the kernels marked {epilogue = 1} right after it (its epilogue chain, see
// target/Fusability.h) run as one call, the chain on each part of the product's
// columns as soon as it is final: each of them spans [product, last member].
// Every other node spans [i, i]. Liveness reads this (plan, the verifier):
// what a node reads lives to its span's end, what it writes from its start.
struct RunSpan {
  int64_t first, last;
};
std::vector<RunSpan> runSpans(const Graph& g);

// Whether the kernel `value` may write its result over `target`'s bytes, the
// target then dead: `value` is an elementwise kernel of the target's type that
// reads the target, if at all, only at the element it writes (no broadcast,
// gather or slice of it), and nothing reads the target after it starts: no
// later node, no other member of the epilogue chain it runs in (which reads
// while it writes), no output. What the bytes are otherwise part of (views,
// concatenations) is the caller's to check. lastRead: each value's last
// reader's index (-1: none).
bool mayWriteOver(const Graph& g, ValueId value, ValueId target, const std::vector<int64_t>& lastRead,
                  const std::vector<RunSpan>& spans);

// Each value's last reader's index (-1: none).
std::vector<int64_t> lastReaders(const Graph& g);

}  // namespace graphc
