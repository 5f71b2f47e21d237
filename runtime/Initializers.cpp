// runtime/Initializers.cpp — parameter initializers, Flax's defaults among them.
#include "runtime/Initializers.h"

#include <Eigen/QR>
#include <cmath>
#include <fmt/format.h>

namespace graphc {
namespace {

double truncatedNormal(Rng& rng) {
  for (;;) {
    double x = rng.normal();
    if (std::abs(x) <= 2.0) return x;
  }
}

}  // namespace

void initialize(Tensor& t, const std::string& kind, double scale, Rng& rng) {
  float* p = t.f32();
  int64_t n = t.size();
  if (kind == "zeros") {
    std::fill_n(p, n, 0.0f);
  } else if (kind == "ones") {
    std::fill_n(p, n, 1.0f);
  } else if (kind == "normal") {
    for (int64_t i = 0; i < n; ++i) p[i] = float(rng.normal() * scale);
  } else if (kind == "uniform") {
    for (int64_t i = 0; i < n; ++i) p[i] = float((2 * rng.uniform() - 1) * scale);
  } else if (kind == "truncated_normal") {
    for (int64_t i = 0; i < n; ++i) p[i] = float(truncatedNormal(rng) * scale);
  } else if (kind == "lecun_normal") {
    // Flax: variance_scaling(1, "fan_in", "truncated_normal"); the constant
    // undoes the variance lost by truncating at two standard deviations.
    double fanIn = double(t.shape().at(0));
    double std = std::sqrt(scale / fanIn) / 0.87962566103423978;
    for (int64_t i = 0; i < n; ++i) p[i] = float(truncatedNormal(rng) * std);
  } else if (kind == "orthogonal") {
    int64_t rows = t.shape().at(0), cols = t.shape().at(1);
    int64_t big = std::max(rows, cols), small = std::min(rows, cols);
    Eigen::MatrixXd a(big, small);
    for (int64_t i = 0; i < big; ++i)
      for (int64_t j = 0; j < small; ++j) a(i, j) = rng.normal();
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
    Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(big, small);
    // Sign fix so the distribution is uniform over orthogonal matrices.
    Eigen::MatrixXd r = qr.matrixQR().topRows(small).triangularView<Eigen::Upper>();
    for (int64_t j = 0; j < small; ++j)
      if (r(j, j) < 0) q.col(j) *= -1;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) p[i * cols + j] = float(scale * (rows >= cols ? q(i, j) : q(j, i)));
  } else {
    throw Error(fmt::format("unknown initializer '{}'", kind));
  }
}

TensorMap initializeParams(const Graph& g, Rng& rng) {
  TensorMap params;
  for (const Node& n : g.nodes) {
    if (n.op != OpKind::Param) continue;
    Tensor t(n.type);
    initialize(t, attr::init(n.attrs, "zeros"), attr::scale(n.attrs, 0.0), rng);
    params[n.name] = std::move(t);
  }
  return params;
}

TensorMap zeroState(const Graph& g) {
  TensorMap state;
  for (const Node& n : g.nodes)
    if (n.op == OpKind::State) state[n.name] = Tensor(n.type);
  return state;
}

}  // namespace graphc
