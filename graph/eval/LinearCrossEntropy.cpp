// graph/eval/LinearCrossEntropy.cpp — the reference evaluator's fused output
// layer and loss: the textbook computation (every logit of a row, then its
// softmax), in double, against which kernels/linear_cross_entropy.c is checked.
#include <cmath>
#include <limits>
#include <vector>

#include "graph/Attr.h"
#include "graph/eval/OpKernels.h"

namespace graphc::eval {
namespace {

struct Layer {
  const Tensor &x, &w, &b;
  bool tw;
  int64_t n, k, v;
  double weight(int64_t kk, int64_t j) const { return w.f32()[tw ? j * k + kk : kk * v + j]; }
  // Row r's logits and their log-sum-exp.
  std::vector<double> logits(int64_t r, double& logSumExp) const {
    std::vector<double> p(size_t(v), 0.0);
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < v; ++j) {
      double z = b.f32()[j];
      for (int64_t kk = 0; kk < k; ++kk) z += double(x.f32()[r * k + kk]) * weight(kk, j);
      p[size_t(j)] = z;
      mx = std::max(mx, z);
    }
    double sum = 0;
    for (double& z : p) sum += std::exp(z - mx);
    logSumExp = mx + std::log(sum);
    return p;
  }
};

Layer layerOf(const Node& n, const Tensor& x, const Tensor& w, const Tensor& b) {
  bool tw = attr::transposeB(n.attrs);
  return {x, w, b, tw, x.shape()[0], x.shape()[1], w.shape()[tw ? 0 : 1]};
}

// Each row's loss, from `o` on.
void writeLoss(const Node& n, const Layer& l, const Tensor& labels, float* o) {
  for (int64_t r = 0; r < l.n; ++r) {
    int64_t label = checkIndex(labels.i32()[r], l.v, n);
    double lse = 0;
    std::vector<double> z = l.logits(r, lse);
    o[r] = float(lse - z[size_t(label)]);
  }
}

// dx, dw, db of the loss with each row's scaled by dloss, one after the other from `o` on.
void writeGradients(const Node& n, const Layer& l, const Tensor& labels, const Tensor& dloss, float* o) {
  std::vector<double> dx(size_t(l.n * l.k), 0.0), dw(size_t(l.k * l.v), 0.0), db(size_t(l.v), 0.0);
  for (int64_t r = 0; r < l.n; ++r) {
    int64_t label = checkIndex(labels.i32()[r], l.v, n);
    double lse = 0;
    std::vector<double> g = l.logits(r, lse);
    for (double& z : g) z = std::exp(z - lse);  // the softmax
    g[size_t(label)] -= 1.0;
    for (int64_t j = 0; j < l.v; ++j) {
      const double gj = g[size_t(j)] * dloss.f32()[r];
      db[size_t(j)] += gj;
      for (int64_t kk = 0; kk < l.k; ++kk) {
        dx[size_t(r * l.k + kk)] += gj * l.weight(kk, j);
        dw[size_t(l.tw ? j * l.k + kk : kk * l.v + j)] += gj * double(l.x.f32()[r * l.k + kk]);
      }
    }
  }
  for (double d : dx) *o++ = float(d);
  for (double d : dw) *o++ = float(d);
  for (double d : db) *o++ = float(d);
}

}  // namespace

Tensor linearCrossEntropyOp(const Node& n, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& labels) {
  Tensor out(n.type);
  writeLoss(n, layerOf(n, x, w, b), labels, out.f32());
  return out;
}

Tensor linearCrossEntropyGradOp(const Node& n, const std::vector<const Tensor*>& in) {
  Tensor out(n.type);
  writeGradients(n, layerOf(n, *in[0], *in[1], *in[2]), *in[3], *in[5], out.f32());
  return out;
}

Tensor linearCrossEntropyTrainOp(const Node& n, const std::vector<const Tensor*>& in) {
  const Layer l = layerOf(n, *in[0], *in[1], *in[2]);
  Tensor out(n.type);
  writeLoss(n, l, *in[3], out.f32());
  writeGradients(n, l, *in[3], *in[4], out.f32() + l.n);
  return out;
}

}  // namespace graphc::eval
