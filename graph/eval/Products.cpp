// graph/eval/Products.cpp — the reference evaluator's matrix products
// (through Eigen) and the packed-panel layout of graph/PackedLayout.h.
#include <Eigen/Core>

#include "graph/Analysis.h"
#include "graph/eval/OpKernels.h"

namespace graphc::eval {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

// A batched product is one 2-d product per entry of the leading dimensions.
Tensor matmulOp(const Node& n, const Tensor& a, const Tensor& b) {
  bool ta = attr::transposeA(n.attrs), tb = attr::transposeB(n.attrs);
  const size_t r = a.shape().size();
  const int64_t aRows = a.shape()[r - 2], aCols = a.shape()[r - 1], bRows = b.shape()[r - 2], bCols = b.shape()[r - 1];
  const int64_t m = n.type.shape[r - 2], cols = n.type.shape[r - 1];
  Tensor out(n.type);
  for (int64_t e = 0, entries = batchCount(n.type); e < entries; ++e) {
    Eigen::Map<const RowMajor> A(a.f32() + e * aRows * aCols, aRows, aCols);
    Eigen::Map<const RowMajor> B(b.f32() + e * bRows * bCols, bRows, bCols);
    Eigen::Map<RowMajor> C(out.f32() + e * m * cols, m, cols);
    if (!ta && !tb) C.noalias() = A * B;
    else if (ta && !tb) C.noalias() = A.transpose() * B;
    else if (!ta && tb) C.noalias() = A * B.transpose();
    else C.noalias() = A.transpose() * B.transpose();
  }
  return out;
}

// pack_panels: out[p][k][j] = op(B)[k][W p + j], zero past n (graph/PackedLayout.h).
Tensor packPanelsOp(const Node& n, const Tensor& b) {
  bool t = attr::transpose(n.attrs);
  int64_t rows = b.shape()[0], cols = b.shape()[1];
  int64_t k = t ? cols : rows, width = t ? rows : cols, panel = n.type.shape[2];
  Tensor out(n.type);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < width; ++j)
      out.f32()[((j / panel) * k + kk) * panel + j % panel] = t ? b.f32()[j * cols + kk] : b.f32()[kk * cols + j];
  return out;
}

// packed_matmul: op(A) times the k x n matrix the panels hold.
Tensor packedMatmulOp(const Node& n, const Tensor& a, const Tensor& packed) {
  bool ta = attr::transposeA(n.attrs);
  int64_t k = packed.shape()[1], width = n.type.shape[1], panel = packed.shape()[2];
  RowMajor B(k, width);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < width; ++j) B(kk, j) = packed.f32()[((j / panel) * k + kk) * panel + j % panel];
  Eigen::Map<const RowMajor> A(a.f32(), a.shape()[0], a.shape()[1]);
  Tensor out(n.type);
  Eigen::Map<RowMajor> C(out.f32(), n.type.shape[0], width);
  if (ta) C.noalias() = A.transpose() * B;
  else C.noalias() = A * B;
  return out;
}

}  // namespace graphc::eval
