// graph/eval/Attention.cpp — see Attention.h.
#include "graph/eval/Attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace graphc {
namespace {

struct Dims {
  int64_t entries, t, d;
};

Dims dimsOf(const Tensor& q) { return {q.shape()[0], q.shape()[1], q.shape()[2]}; }

double dot(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t c = 0; c < n; ++c) s += double(a[c]) * double(b[c]);
  return s;
}

// Row i's softmax weights over its keys and their logsumexp.
std::vector<double> weights(const float* q, const float* k, int64_t i, const Dims& s, double scale, bool causal,
                            double& logSumExp) {
  const int64_t keys = causal ? i + 1 : s.t;
  std::vector<double> p(static_cast<size_t>(keys), 0.0);
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < keys; ++j) {
    p[size_t(j)] = scale * dot(q + i * s.d, k + j * s.d, s.d);
    mx = std::max(mx, p[size_t(j)]);
  }
  double sum = 0;
  for (double& x : p) sum += (x = std::exp(x - mx));
  for (double& x : p) x /= sum;
  logSumExp = mx + std::log(sum);
  return p;
}

}  // namespace

Tensor attentionReference(const Node& n, const Tensor& q, const Tensor& k, const Tensor& v) {
  const Dims s = dimsOf(q);
  const double scale = attr::scale(n.attrs, 1.0);
  const bool causal = attr::causal(n.attrs);
  Tensor out(n.type);
  for (int64_t e = 0; e < s.entries; ++e) {
    const float *qe = q.f32() + e * s.t * s.d, *ke = k.f32() + e * s.t * s.d, *ve = v.f32() + e * s.t * s.d;
    for (int64_t i = 0; i < s.t; ++i) {
      double lse = 0;
      std::vector<double> p = weights(qe, ke, i, s, scale, causal, lse);
      float* row = out.f32() + (e * s.t + i) * (s.d + 1);
      for (int64_t c = 0; c < s.d; ++c) {
        double acc = 0;
        for (size_t j = 0; j < p.size(); ++j) acc += p[j] * ve[int64_t(j) * s.d + c];
        row[c] = float(acc);
      }
      row[s.d] = float(lse);
    }
  }
  return out;
}

Tensor attentionGradReference(const Node& n, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& y,
                              const Tensor& dy) {
  (void)y;  // the reference recomputes the weights exactly instead of reading the logsumexps
  const Dims s = dimsOf(q);
  const double scale = attr::scale(n.attrs, 1.0);
  const bool causal = attr::causal(n.attrs);
  const int64_t block = s.entries * s.t * s.d;
  std::vector<double> grads(size_t(3 * block), 0.0);
  for (int64_t e = 0; e < s.entries; ++e) {
    const int64_t base = e * s.t * s.d;
    const float *qe = q.f32() + base, *ke = k.f32() + base, *ve = v.f32() + base;
    double *dq = grads.data() + base, *dk = grads.data() + block + base, *dv = grads.data() + 2 * block + base;
    for (int64_t i = 0; i < s.t; ++i) {
      double lse = 0;
      std::vector<double> p = weights(qe, ke, i, s, scale, causal, lse);
      const float* dyi = dy.f32() + (e * s.t + i) * (s.d + 1);
      std::vector<double> dp(p.size());
      double delta = -double(dyi[s.d]);  // sum_j p_j dp_j, less the logsumexp's gradient (d lse / d s_j = p_j)
      for (size_t j = 0; j < p.size(); ++j) {
        dp[j] = dot(dyi, ve + int64_t(j) * s.d, s.d);
        delta += p[j] * dp[j];
      }
      for (size_t j = 0; j < p.size(); ++j) {
        const double ds = p[j] * (dp[j] - delta) * scale;
        for (int64_t c = 0; c < s.d; ++c) {
          dv[int64_t(j) * s.d + c] += p[j] * dyi[c];
          dq[i * s.d + c] += ds * ke[int64_t(j) * s.d + c];
          dk[int64_t(j) * s.d + c] += ds * qe[i * s.d + c];
        }
      }
    }
  }
  Tensor out(n.type);
  for (int64_t i = 0; i < out.size(); ++i) out.f32()[i] = float(grads[size_t(i)]);
  return out;
}

}  // namespace graphc
