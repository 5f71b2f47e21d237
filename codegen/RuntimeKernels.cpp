// codegen/RuntimeKernels.cpp — runtime kernels: matrix products through
// graphc's packed-panel driver and the generated micro-kernels the caller
// passes (codegen/Gemm.h; Eigen when it passes none), index-heavy ops as
// plain loops.
#include "codegen/RuntimeKernels.h"

#include "codegen/Collectives.h"
#include "graph/CounterRandom.h"

#include "codegen/Gemm.h"
#include "codegen/ThreadPool.h"
#include "codegen/portable/attention.h"
#include "codegen/portable/rows.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <map>
#include <type_traits>
#include <mutex>

namespace {

std::mutex errorMutex;
std::string firstError;

void recordError(std::string msg) {
  std::lock_guard<std::mutex> lock(errorMutex);
  if (firstError.empty()) firstError = std::move(msg);
}

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Calls fn(linear, offset) for each multi-index over dims, with offset = sum idx_d * strides_d.
template <typename Fn>
void walk(int64_t rank, const int64_t* dims, const int64_t* strides, int64_t base, Fn fn) {
  int64_t n = 1;
  for (int64_t d = 0; d < rank; ++d) n *= dims[d];
  if (n == 0) return;
  int64_t idx[16] = {};
  int64_t off = base;
  for (int64_t i = 0; i < n; ++i) {
    fn(i, off);
    for (int64_t d = rank - 1; d >= 0; --d) {
      off += strides[d];
      if (++idx[d] < dims[d]) break;
      off -= strides[d] * dims[d];
      idx[d] = 0;
    }
  }
}

// Rows per range for the row-wise softmax kernels: split over the threads only
// when the whole is big enough to repay the hand-off (the loss over all steps).
int64_t rowGrain(int64_t rows, int64_t width) { return rows * width >= (int64_t(1) << 14) ? 64 : rows; }

}  // namespace

extern "C" {

void graphc_rt_matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, int32_t ta, int32_t tb,
                      const graphc::ProductKernels* kernels) {
  if (kernels) {
    graphc::gemm::multiply(*kernels, a, ta != 0, b, tb != 0, c, m, n, k);
    return;
  }
  // No generated kernels for this product: Eigen's.
  Eigen::Map<const RowMajor> A(a, ta ? k : m, ta ? m : k);
  Eigen::Map<const RowMajor> B(b, tb ? n : k, tb ? k : n);
  Eigen::Map<RowMajor> C(c, m, n);
  // Columns [j0, j0 + w) of C: each thread owns a block, so no two write the same bytes.
  auto block = [&](int64_t j0, int64_t w) {
    auto Cb = C.middleCols(j0, w);
    if (!ta && !tb) Cb.noalias() = A * B.middleCols(j0, w);
    else if (ta && !tb) Cb.noalias() = A.transpose() * B.middleCols(j0, w);
    else if (!ta && tb) Cb.noalias() = A * B.middleRows(j0, w).transpose();
    else Cb.noalias() = A.transpose() * B.middleRows(j0, w).transpose();
  };
  // Split only products big enough to repay the hand-off (a few microseconds).
  int parts = graphc::kernelThreads();
  if (parts > 1 && n >= 64 && m * n * k >= (int64_t(1) << 20)) {
    int64_t step = (n / parts + 7) / 8 * 8;  // whole 8-float vectors per block
    graphc::parallelFor(parts, [&](int p) {
      int64_t j0 = std::min(n, p * step), j1 = p == parts - 1 ? n : std::min(n, (p + 1) * step);
      if (j1 > j0) block(j0, j1 - j0);
    });
    return;
  }
  block(0, n);
}

void graphc_rt_pack_panels(const float* b, float* packed, int64_t k, int64_t n, int32_t tb, int64_t width) {
  graphc::gemm::packPanelsParallel(b, tb != 0, k, n, width, packed);
}

void graphc_rt_packed_matmul(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                             int32_t ta, const graphc::ProductKernels* kernels) {
  graphc::gemm::multiplyPackedParallel(*kernels, a, ta != 0, packed, c, m, n, k);
}

void graphc_rt_packed_matmul_epilogue(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                                      int32_t ta, const graphc::ProductKernels* kernels,
                                      void (*epilogue)(void* const*, int64_t, int64_t), void* const* args) {
  graphc::gemm::Epilogue e{epilogue, args};
  graphc::gemm::multiplyPackedParallel(*kernels, a, ta != 0, packed, c, m, n, k, &e);
}

void graphc_rt_parallel_columns(void (*kernel)(void* const*, int64_t, int64_t), void* const* args, int64_t cols) {
  // Ranges of 16 columns at the least: whole vectors, and no two threads in one cache line of a row.
  constexpr int64_t kGrain = 16;
  graphc::parallelRanges((cols + kGrain - 1) / kGrain, 1, [&](int64_t g0, int64_t g1) {
    kernel(args, g0 * kGrain, std::min(cols, g1 * kGrain));
  });
}

void graphc_rt_fill(uint32_t* out, int64_t n, uint32_t bits) { std::fill_n(out, n, bits); }

void graphc_rt_copy(void* out, const void* in, int64_t bytes) {
  if (out != in) std::memmove(out, in, size_t(bytes));
}

}  // extern "C"

namespace {

// out[i] = in[base + offset(i)] (gather) or out[base + offset(i)] = in[i]
// (scatter), over `dims` with `strides`. When the innermost dimension is
// contiguous, whole rows move with one memcpy: concat, slice and pad spend
// their time here.
template <bool kScatter>
void stridedCopy(const uint32_t* in, uint32_t* out, const int64_t* desc) {
  int64_t rank = desc[0];
  const int64_t* dims = desc + 2;
  const int64_t* strides = desc + 2 + rank;
  auto move = [&](int64_t linear, int64_t strided, int64_t count) {
    if (kScatter) std::memcpy(out + strided, in + linear, size_t(count) * 4);
    else std::memcpy(out + linear, in + strided, size_t(count) * 4);
  };
  if (rank > 0 && strides[rank - 1] == 1) {
    int64_t len = dims[rank - 1];
    walk(rank - 1, dims, strides, desc[1], [&](int64_t i, int64_t off) { move(i * len, off, len); });
    return;
  }
  walk(rank, dims, strides, desc[1], [&](int64_t i, int64_t off) { move(i, off, 1); });
}

}  // namespace

extern "C" {

void graphc_rt_gather_strided(const uint32_t* in, uint32_t* out, const int64_t* desc) {
  stridedCopy<false>(in, out, desc);
}

void graphc_rt_scatter_strided(const uint32_t* in, uint32_t* out, const int64_t* desc) {
  stridedCopy<true>(in, out, desc);
}

void graphc_rt_reduce(const void* in, void* out, const int64_t* desc) {
  int64_t rows = 0, cols = 0;
  if (graphc_rows_leading_sum(desc, &rows, &cols) && cols > 1 && rows * cols >= (int64_t(1) << 17)) {
    // A big float sum over leading axes (a bias gradient over all steps): column
    // ranges over the threads, each column summed in row order whichever thread takes it.
    constexpr int64_t kColumnGrain = 64;
    graphc::parallelRanges((cols + kColumnGrain - 1) / kColumnGrain, 1, [&](int64_t g0, int64_t g1) {
      graphc_rows_column_sums(static_cast<const float*>(in), static_cast<float*>(out), rows, cols, g0 * kColumnGrain,
                              std::min(cols, g1 * kColumnGrain));
    });
    return;
  }
  if (graphc_rows_reduce(in, out, desc) != 0) recordError("reduce: out of memory for its accumulators");
}

void graphc_rt_argmax(const void* in, int32_t* out, int64_t outer, int64_t len, int64_t inner, int32_t isInt) {
  graphc_rows_argmax(in, out, outer, len, inner, isInt);
}

static float floatFromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

void graphc_rt_attention(const float* q, const float* k, const float* v, float* out, int64_t entries, int64_t t,
                         int64_t d, uint32_t scaleBits, int32_t causal) {
  graphc::parallelRanges(entries, 1, [&](int64_t e0, int64_t e1) {
    if (graphc_attention_forward(q, k, v, out, e0, e1, t, d, floatFromBits(scaleBits), causal) != 0)
      recordError("attention: out of memory for its scratch rows");
  });
}

void graphc_rt_attention_grad(const float* q, const float* k, const float* v, const float* y, const float* dy,
                              float* grads, int64_t entries, int64_t t, int64_t d, uint32_t scaleBits, int32_t causal) {
  graphc::parallelRanges(entries, 1, [&](int64_t e0, int64_t e1) {
    if (graphc_attention_backward(q, k, v, y, dy, grads, entries, e0, e1, t, d, floatFromBits(scaleBits), causal) != 0)
      recordError("attention_grad: out of memory for its scratch rows");
  });
}

void graphc_rt_iota(int32_t* out, int64_t n, int64_t len, int64_t inner) {
  for (int64_t i = 0; i < n; ++i) out[i] = int32_t((i / inner) % len);
}

void graphc_rt_one_hot(const int32_t* idx, float* out, int64_t n, int64_t depth) {
  std::fill_n(out, n * depth, 0.0f);
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] >= 0 && idx[i] < depth) out[i * depth + idx[i]] = 1.0f;
}

void graphc_rt_random_uniform(const int32_t* key, float* out, int64_t n, int64_t cols, int64_t stream) {
  for (int64_t i = 0; i < n; ++i) out[i] = graphc::randomUniformElement(key, uint64_t(stream), cols, i);
}

void graphc_rt_all_reduce(const float* in, float* out, int64_t n) {
  if (in != out) std::memmove(out, in, size_t(n) * sizeof(float));
  graphc::allReduceSum(out, n);
}

void graphc_rt_gather_rows(const float* table, const int32_t* idx, float* out, int64_t n, int64_t width, int64_t rows,
                           int32_t zeroOutOfRange) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = idx[i];
    if (r < 0 || r >= rows) {
      if (!zeroOutOfRange) recordError(fmt::format("gather index {} out of range [0, {})", r, rows));
      std::fill_n(out + i * width, width, 0.0f);
      continue;
    }
    std::copy_n(table + r * width, width, out + i * width);
  }
}

void graphc_rt_scatter_add_rows(const float* updates, const int32_t* idx, float* out, int64_t n, int64_t width,
                                int64_t rows, int32_t zeroOutOfRange) {
  std::fill_n(out, rows * width, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = idx[i];
    if (r < 0 || r >= rows) {
      if (!zeroOutOfRange) recordError(fmt::format("scatter_add index {} out of range [0, {})", r, rows));
      continue;
    }
    float* row = out + r * width;
    const float* update = updates + i * width;
    for (int64_t c = 0; c < width; ++c) row[c] += update[c];
  }
}

void graphc_rt_log_softmax(const float* in, float* out, int64_t rows, int64_t width) {
  graphc::parallelRanges(rows, rowGrain(rows, width), [&](int64_t r0, int64_t r1) {
    graphc_rows_log_softmax(in, out, r0, r1, width);
  });
}

void graphc_rt_softmax_cross_entropy(const float* logits, const int32_t* labels, float* out, int64_t rows,
                                     int64_t width) {
  graphc::parallelRanges(rows, rowGrain(rows, width), [&](int64_t r0, int64_t r1) {
    int64_t bad = graphc_rows_softmax_cross_entropy(logits, labels, out, r0, r1, width);
    if (bad >= 0)
      recordError(fmt::format("softmax_cross_entropy label {} out of range [0, {})", labels[bad], width));
  });
}

}  // extern "C"

namespace graphc {

std::vector<std::pair<std::string, void*>> runtimeKernelSymbols() {
  return {
#define GRAPHC_RUNTIME_KERNEL(Name, ...) {#Name, reinterpret_cast<void*>(&Name)},
#include "codegen/RuntimeKernels.def"
#undef GRAPHC_RUNTIME_KERNEL
  };
}

namespace {

// Each declaration's parameters against the table's kinds, at compile time.
template <typename T>
constexpr RuntimeParam paramKind() {
  if constexpr (std::is_pointer_v<T>) return RuntimeParam::Ptr;
  else if constexpr (sizeof(T) == 8) return RuntimeParam::I64;
  else return RuntimeParam::I32;
}
template <typename... Params>
constexpr bool declaredAs(void (*)(Params...), std::initializer_list<RuntimeParam> kinds) {
  RuntimeParam declared[] = {paramKind<Params>()...};
  if (kinds.size() != sizeof...(Params)) return false;
  size_t i = 0;
  for (RuntimeParam k : kinds)
    if (declared[i++] != k) return false;
  return true;
}
using enum RuntimeParam;
#define GRAPHC_RUNTIME_KERNEL(Name, ...)                 \
  static_assert(declaredAs(&Name, {__VA_ARGS__}),      \
                #Name " is declared with other parameters than codegen/RuntimeKernels.def says");
#include "codegen/RuntimeKernels.def"
#undef GRAPHC_RUNTIME_KERNEL

}  // namespace

const std::vector<RuntimeParam>* runtimeKernelParams(const std::string& name) {
  static const std::map<std::string, std::vector<RuntimeParam>> table = {
#define GRAPHC_RUNTIME_KERNEL(Name, ...) {#Name, {__VA_ARGS__}},
#include "codegen/RuntimeKernels.def"
#undef GRAPHC_RUNTIME_KERNEL
  };
  auto it = table.find(name);
  return it == table.end() ? nullptr : &it->second;
}

std::string graphc_rt_take_error() {
  std::lock_guard<std::mutex> lock(errorMutex);
  return std::exchange(firstError, std::string());
}

}  // namespace graphc
