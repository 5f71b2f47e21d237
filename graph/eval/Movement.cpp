// graph/eval/Movement.cpp — the reference evaluator's data movement and
// indexing: broadcast, reshape, transpose, slice, pad, concat, iota, one_hot,
// gather, scatter_add, random_uniform.
#include <algorithm>
#include <fmt/format.h>

#include "graph/Analysis.h"
#include "graph/CounterRandom.h"
#include "graph/Error.h"
#include "graph/eval/OpKernels.h"

namespace graphc::eval {
namespace {

// Copies elements by an index map from output multi-index to input linear index (-1: zero).
template <typename Map>
Tensor gatherBy(const TensorType& type, const Tensor& in, Map map) {
  Tensor out(type);
  forEachIndex(type.shape, [&](int64_t i, const std::vector<int64_t>& idx) {
    int64_t j = map(idx);
    if (type.dtype == DType::F32) out.f32()[i] = j < 0 ? 0.0f : in.f32()[j];
    else out.i32()[i] = j < 0 ? 0 : in.i32()[j];
  });
  return out;
}

}  // namespace

Tensor broadcastOp(const Node& n, const Tensor& in) {
  auto st = stridesOf(in.shape());
  size_t off = n.type.shape.size() - in.shape().size();
  return gatherBy(n.type, in, [&](const std::vector<int64_t>& idx) {
    int64_t j = 0;
    for (size_t d = 0; d < in.shape().size(); ++d)
      if (in.shape()[d] != 1) j += idx[off + d] * st[d];
    return j;
  });
}

Tensor transposeOp(const Node& n, const Tensor& in) {
  auto st = stridesOf(in.shape());
  const auto& perm = attr::perm(n.attrs);
  return gatherBy(n.type, in, [&](const std::vector<int64_t>& idx) {
    int64_t j = 0;
    for (size_t d = 0; d < perm.size(); ++d) j += idx[d] * st[size_t(perm[d])];
    return j;
  });
}

Tensor sliceOp(const Node& n, const Tensor& in) {
  auto st = stridesOf(in.shape());
  const auto& start = attr::start(n.attrs);
  return gatherBy(n.type, in, [&](const std::vector<int64_t>& idx) {
    int64_t j = 0;
    for (size_t d = 0; d < idx.size(); ++d) j += (idx[d] + start[d]) * st[d];
    return j;
  });
}

Tensor padOp(const Node& n, const Tensor& in) {
  auto st = stridesOf(in.shape());
  const auto& low = attr::low(n.attrs);
  return gatherBy(n.type, in, [&](const std::vector<int64_t>& idx) {
    int64_t j = 0;
    for (size_t d = 0; d < idx.size(); ++d) {
      int64_t k = idx[d] - low[d];
      if (k < 0 || k >= in.shape()[d]) return int64_t(-1);
      j += k * st[d];
    }
    return j;
  });
}

// Row-major: for each index over the axes before `axis`, every part
// contributes one contiguous run of (its extent along axis) x (inner size).
Tensor concatOp(const Node& n, const std::vector<const Tensor*>& in) {
  int64_t axis = attr::axis(n.attrs);
  if (axis < 0) axis += n.type.rank();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= n.type.shape[size_t(d)];
  for (int64_t d = axis + 1; d < n.type.rank(); ++d) inner *= n.type.shape[size_t(d)];
  Tensor out(n.type);
  int64_t written = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor* part : in) {
      int64_t run = part->shape()[size_t(axis)] * inner;
      if (n.type.dtype == DType::F32) std::copy_n(part->f32() + o * run, run, out.f32() + written);
      else std::copy_n(part->i32() + o * run, run, out.i32() + written);
      written += run;
    }
  return out;
}

Tensor reshapeOp(const Node& n, const Tensor& in) {
  Tensor out(n.type);
  if (n.type.dtype == DType::F32) std::copy_n(in.f32(), in.size(), out.f32());
  else std::copy_n(in.i32(), in.size(), out.i32());
  return out;
}

int64_t checkIndex(int64_t idx, int64_t limit, const Node& n) {
  if (idx < 0 || idx >= limit)
    throw Error(fmt::format("%{}: {} index {} out of range [0, {})", n.name, opName(n.op), idx, limit));
  return idx;
}

Tensor iotaOp(const Node& n) {
  int64_t axis = attr::axis(n.attrs);
  if (axis < 0) axis += n.type.rank();
  int64_t inner = stridesOf(n.type.shape)[size_t(axis)], len = n.type.shape[size_t(axis)];
  Tensor out(n.type);
  for (int64_t i = 0; i < out.size(); ++i) out.i32()[i] = int32_t((i / inner) % len);
  return out;
}

Tensor oneHotOp(const Node& n, const Tensor& idx) {
  int64_t depth = attr::depth(n.attrs);
  Tensor out(n.type);
  for (int64_t i = 0; i < idx.size(); ++i) {
    int32_t k = idx.i32()[i];
    if (k >= 0 && k < depth) out.f32()[i * depth + k] = 1.0f;  // out of range: a zero row, as in JAX
  }
  return out;
}

// With zero_out_of_range, an index outside [0, rows) reads a zero row (gather)
// or is dropped (scatter_add), as one_hot treats it; otherwise it is an error.
Tensor gatherOp(const Node& n, const Tensor& table, const Tensor& idx) {
  int64_t rows = table.shape()[0], width = table.shape()[1];
  bool zeroOutOfRange = attr::zeroOutOfRange(n.attrs);
  Tensor out(n.type);
  for (int64_t i = 0; i < idx.size(); ++i) {
    if (zeroOutOfRange && (idx.i32()[i] < 0 || idx.i32()[i] >= rows)) continue;  // out is zeroed
    int64_t r = checkIndex(idx.i32()[i], rows, n);
    std::copy_n(table.f32() + r * width, width, out.f32() + i * width);
  }
  return out;
}

Tensor scatterAddOp(const Node& n, const Tensor& updates, const Tensor& idx) {
  int64_t rows = n.type.shape[0], width = n.type.shape[1];
  bool zeroOutOfRange = attr::zeroOutOfRange(n.attrs);
  Tensor out(n.type);
  for (int64_t i = 0; i < idx.size(); ++i) {
    if (zeroOutOfRange && (idx.i32()[i] < 0 || idx.i32()[i] >= rows)) continue;
    int64_t r = checkIndex(idx.i32()[i], rows, n);
    for (int64_t c = 0; c < width; ++c) out.f32()[r * width + c] += updates.f32()[i * width + c];
  }
  return out;
}

Tensor randomUniformOp(const Node& n, const Tensor& key) {
  Tensor out(n.type);
  int64_t cols = n.type.shape[0] != 0 ? n.type.numElements() / n.type.shape[0] : 0;
  for (int64_t i = 0; i < out.size(); ++i)
    out.f32()[i] = randomUniformElement(key.i32(), uint64_t(attr::stream(n.attrs)), cols, i);
  return out;
}

}  // namespace graphc::eval
