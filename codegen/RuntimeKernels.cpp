// codegen/RuntimeKernels.cpp — runtime kernels: matrix products through
// graphc's packed-panel driver and the generated micro-kernels the caller
// passes (codegen/Gemm.h; Eigen when it passes none), index-heavy ops as
// plain loops.
#include "codegen/RuntimeKernels.h"

#include "codegen/Collectives.h"
#include "graph/CounterRandom.h"

#include "codegen/Gemm.h"
#include "codegen/ThreadPool.h"

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

// The sum of n floats: 16 float lanes over blocks of 256 (so the compiler
// vectorizes it), the blocks added in double.
double sumFloats(const float* x, int64_t n) {
  constexpr int64_t kLanes = 16, kBlock = 256;
  double total = 0;
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    int64_t b1 = std::min(n, b0 + kBlock);
    float lanes[kLanes] = {};
    int64_t i = b0;
    for (; i + kLanes <= b1; i += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] += x[i + l];
    double block = 0;
    for (; i < b1; ++i) block += x[i];
    for (float l : lanes) block += l;
    total += block;
  }
  return total;
}

// e^x for x <= 0 (a softmax's shifted logits), branch-free so loops over it
// vectorize: 2^n e^r with r in [-ln2/2, ln2/2], e^r by its degree-6 Taylor
// polynomial (relative error below 2e-7, about float's rounding).
inline float expNonPositive(float x) {
  x = std::max(x, -87.0f);  // below, e^x underflows a float anyway
  float n = std::floor(x * 1.44269504f + 0.5f);
  float r = x - n * 0.693145752f - n * 1.42860677e-6f;  // ln 2 in two parts, for an exact reduction
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666672e-1f + r * (4.16666679e-2f + r * (8.33333377e-3f +
                                                                                     r * 1.38888892e-3f)))));
  int32_t bits = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// Rows per range for the row-wise softmax kernels: split over the threads only
// when the whole is big enough to repay the hand-off (the loss over all steps).
int64_t rowGrain(int64_t rows, int64_t width) { return rows * width >= (int64_t(1) << 14) ? 64 : rows; }

// Lanes for the row reductions below: a fixed number of partial results, so
// the compiler vectorizes the loop (a single running sum or max is a chain it
// may not reorder) and the order of additions is the same on every machine.
constexpr int64_t kRowLanes = 16;

// The largest of x[0..n).
float maxFloats(const float* x, int64_t n) {
  float lanes[kRowLanes];
  std::fill(lanes, lanes + kRowLanes, -std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + kRowLanes <= n; i += kRowLanes)
    for (int64_t l = 0; l < kRowLanes; ++l) lanes[l] = std::max(lanes[l], x[i + l]);
  float mx = -std::numeric_limits<float>::infinity();
  for (; i < n; ++i) mx = std::max(mx, x[i]);
  for (float l : lanes) mx = std::max(mx, l);
  return mx;
}

// sum_c e^(x[c] - shift), the exponentials vectorized, the sum in double lanes.
double sumExpShifted(const float* x, int64_t width, float shift) {
  double lanes[kRowLanes] = {};
  int64_t c = 0;
  for (; c + kRowLanes <= width; c += kRowLanes)
    for (int64_t l = 0; l < kRowLanes; ++l) lanes[l] += double(expNonPositive(x[c + l] - shift));
  double sum = 0;
  for (; c < width; ++c) sum += double(expNonPositive(x[c] - shift));
  for (double l : lanes) sum += l;
  return sum;
}

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
  int64_t kind = desc[0], isInt = desc[1], rank = desc[2];
  const int64_t* dims = desc + 3;
  const int64_t* reduced = desc + 3 + rank;
  // The common case, a float sum over leading axes (bias gradients: [rows, cols] -> [cols]),
  // as a vectorizable row loop instead of the generic index walk.
  int64_t lead = 0;
  while (lead < rank && reduced[lead]) ++lead;
  bool trailingKept = true;
  for (int64_t d = lead; d < rank; ++d) trailingKept &= !reduced[d];
  if (kind == 0 && !isInt && lead > 0 && trailingKept) {
    int64_t rows = 1, cols = 1;
    for (int64_t d = 0; d < lead; ++d) rows *= dims[d];
    for (int64_t d = lead; d < rank; ++d) cols *= dims[d];
    const float* x = static_cast<const float*>(in);
    float* y = static_cast<float*>(out);
    if (lead == rank) {
      y[0] = float(sumFloats(x, rows));
      return;
    }
    // Column ranges over the threads when big (a bias gradient over all steps),
    // each column summed in double, in row order, whichever thread takes it.
    constexpr int64_t kColumnGrain = 64;
    int64_t grain = rows * cols >= (int64_t(1) << 17) ? kColumnGrain : cols;
    graphc::parallelRanges((cols + grain - 1) / grain, 1, [&](int64_t g0, int64_t g1) {
      int64_t c0 = g0 * grain, c1 = std::min(cols, g1 * grain);
      std::vector<double> acc(size_t(c1 - c0), 0.0);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = c0; c < c1; ++c) acc[size_t(c - c0)] += x[r * cols + c];
      for (int64_t c = c0; c < c1; ++c) y[c] = float(acc[size_t(c - c0)]);
    });
    return;
  }
  // Output strides over the kept dimensions, 0 for reduced ones.
  int64_t strides[16], outCount = 1, inCount = 1;
  for (int64_t d = rank - 1; d >= 0; --d) {
    strides[d] = reduced[d] ? 0 : outCount;
    if (!reduced[d]) outCount *= dims[d];
    inCount *= dims[d];
  }
  std::vector<double> acc(size_t(outCount), kind == 2 ? -std::numeric_limits<double>::infinity() : 0.0);
  walk(rank, dims, strides, 0, [&](int64_t i, int64_t off) {
    double v = isInt ? double(static_cast<const int32_t*>(in)[i]) : double(static_cast<const float*>(in)[i]);
    double& a = acc[size_t(off)];
    if (kind == 2) a = (std::isnan(v) || v > a) ? v : a;
    else a += v;
  });
  double scale = kind == 1 ? double(outCount) / double(std::max<int64_t>(1, inCount)) : 1.0;
  for (int64_t j = 0; j < outCount; ++j) {
    if (isInt) static_cast<int32_t*>(out)[j] = int32_t(acc[size_t(j)] * scale);
    else static_cast<float*>(out)[j] = float(acc[size_t(j)] * scale);
  }
}

void graphc_rt_argmax(const void* in, int32_t* out, int64_t outer, int64_t len, int64_t inner, int32_t isInt) {
  auto at = [&](int64_t i) {
    return isInt ? double(static_cast<const int32_t*>(in)[i]) : double(static_cast<const float*>(in)[i]);
  };
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t r = 0; r < inner; ++r) {
      int64_t best = 0;
      for (int64_t k = 1; k < len; ++k)
        if (at((o * len + k) * inner + r) > at((o * len + best) * inner + r)) best = k;
      out[o * inner + r] = int32_t(best);
    }
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
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = in + r * width;
      float mx = maxFloats(x, width);
      // (x - max) - log(sum): the shifted logit is exact, so the largest one's
      // log-probability keeps its few ulps instead of vanishing into max's.
      float logSum = float(std::log(sumExpShifted(x, width, mx)));
      for (int64_t c = 0; c < width; ++c) out[r * width + c] = (x[c] - mx) - logSum;
    }
  });
}

void graphc_rt_softmax_cross_entropy(const float* logits, const int32_t* labels, float* out, int64_t rows,
                                     int64_t width) {
  graphc::parallelRanges(rows, rowGrain(rows, width), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits + r * width;
      int64_t label = labels[r];
      if (label < 0 || label >= width) {
        recordError(fmt::format("softmax_cross_entropy label {} out of range [0, {})", label, width));
        out[r] = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      float mx = maxFloats(x, width);
      out[r] = float(double(mx) + std::log(sumExpShifted(x, width, mx)) - double(x[label]));
    }
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
