// graph/eval/Reductions.cpp — the reference evaluator's reductions and row
// functions: reduce_sum/mean/max, argmax, log_softmax, softmax_cross_entropy,
// each accumulated in double.
#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/Analysis.h"
#include "graph/eval/OpKernels.h"

namespace graphc::eval {

Tensor reduceOp(const Node& n, const Tensor& in) {
  std::vector<bool> reduced(in.shape().size(), false);
  for (int64_t a : attr::axes(n.attrs)) reduced[size_t(a)] = true;
  auto outStrides = stridesOf(n.type.shape);
  bool isMax = n.op == OpKind::ReduceMax;
  std::vector<double> acc(size_t(n.type.numElements()), isMax ? -std::numeric_limits<double>::infinity() : 0.0);
  forEachIndex(in.shape(), [&](int64_t i, const std::vector<int64_t>& idx) {
    int64_t j = 0;
    for (size_t d = 0, od = 0; d < idx.size(); ++d)
      if (!reduced[d]) j += idx[d] * outStrides[od++];
    double v = in.at(i);
    if (isMax) acc[size_t(j)] = (std::isnan(v) || v > acc[size_t(j)]) ? v : acc[size_t(j)];
    else acc[size_t(j)] += v;
  });
  if (n.op == OpKind::ReduceMean) {
    double count = double(in.size()) / double(std::max<int64_t>(1, n.type.numElements()));
    for (double& v : acc) v /= count;
  }
  Tensor out(n.type);
  for (size_t j = 0; j < acc.size(); ++j) {
    if (n.type.dtype == DType::F32) out.f32()[j] = float(acc[j]);
    else out.i32()[j] = int32_t(acc[j]);
  }
  return out;
}

Tensor sumSquaresOp(const Node& n, const Tensor& in) {
  double acc = 0.0;  // in input order, exact squares: the JIT's float lanes agree to float rounding
  for (int64_t i = 0; i < in.size(); ++i) acc += double(in.f32()[i]) * double(in.f32()[i]);
  Tensor out(n.type);
  out.f32()[0] = float(acc);
  return out;
}

Tensor argmaxOp(const Node& n, const Tensor& in) {
  int64_t axis = attr::axis(n.attrs);
  if (axis < 0) axis += int64_t(in.shape().size());
  int64_t len = in.shape()[size_t(axis)], inner = stridesOf(in.shape())[size_t(axis)];
  int64_t outer = in.size() / std::max<int64_t>(1, len * inner);
  Tensor out(n.type);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t r = 0; r < inner; ++r) {
      int64_t best = 0;
      for (int64_t k = 1; k < len; ++k)
        if (in.at((o * len + k) * inner + r) > in.at((o * len + best) * inner + r)) best = k;
      out.i32()[o * inner + r] = int32_t(best);
    }
  return out;
}

Tensor logSoftmaxOp(const Node& n, const Tensor& in) {
  int64_t width = in.shape().back(), rows = width ? in.size() / width : 0;
  Tensor out(n.type);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = in.f32() + r * width;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < width; ++c) mx = std::max(mx, double(x[c]));
    double s = 0;
    for (int64_t c = 0; c < width; ++c) s += std::exp(double(x[c]) - mx);
    double lse = mx + std::log(s);
    for (int64_t c = 0; c < width; ++c) out.f32()[r * width + c] = float(double(x[c]) - lse);
  }
  return out;
}

Tensor softmaxCrossEntropyOp(const Node& n, const Tensor& logits, const Tensor& labels) {
  int64_t rows = logits.shape()[0], width = logits.shape()[1];
  Tensor out(n.type);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = logits.f32() + r * width;
    int64_t label = checkIndex(labels.i32()[r], width, n);
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < width; ++c) mx = std::max(mx, double(x[c]));
    double s = 0;
    for (int64_t c = 0; c < width; ++c) s += std::exp(double(x[c]) - mx);
    out.f32()[r] = float(mx + std::log(s) - double(x[label]));
  }
  return out;
}

}  // namespace graphc::eval
