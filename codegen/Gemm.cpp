// codegen/Gemm.cpp — see Gemm.h. The micro-kernel keeps a 6x16 tile of C in
// 12 ymm accumulators; per k it loads one 16-wide row of the packed panel and
// broadcasts 6 elements of A: 12 FMAs against 8 loads, which Zen 3 and
// Skylake both issue at the FMA rate.
#include "codegen/Gemm.h"

#include "codegen/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <immintrin.h>
#include <vector>

namespace graphc::gemm {
namespace {

constexpr int kTileRows = 6;
// K is cut into blocks so a panel's slice (kKBlock x 16 floats = 16 KiB) stays
// in L1 while every row tile of a row block (kRowBlock rows) passes over it;
// a packed block of A (96 x 256 floats = 96 KiB) stays in L2. 128 and 512
// measured no better on the seed's shapes.
constexpr int64_t kKBlock = 256;
constexpr int64_t kRowBlock = 96;

#define GRAPHC_GEMM_TARGET __attribute__((target("avx2,fma")))

// Stores one accumulator row: c[0..cols) (+)= lo|hi.
GRAPHC_GEMM_TARGET inline void storeRow(float* out, __m256 lo, __m256 hi, int64_t cols, bool accumulate) {
  if (cols == kPanelWidth) {
    if (accumulate) {
      lo = _mm256_add_ps(lo, _mm256_loadu_ps(out));
      hi = _mm256_add_ps(hi, _mm256_loadu_ps(out + 8));
    }
    _mm256_storeu_ps(out, lo);
    _mm256_storeu_ps(out + 8, hi);
    return;
  }
  // The last panel of a width that is not a multiple of 16: only `cols` are real.
  alignas(32) float tile[kPanelWidth];
  _mm256_store_ps(tile, lo);
  _mm256_store_ps(tile + 8, hi);
  for (int64_t j = 0; j < cols; ++j) out[j] = accumulate ? out[j] + tile[j] : tile[j];
}

// c[r][0..cols) (+)= A-tile x panel for r < R; a(r, kk) = a[r * rowStride + kk * kStride].
// The accumulators are named scalars, not an array: GCC keeps an array of
// vectors in memory when the epilogue indexes it, and the loop then runs at a
// third of the FMA rate.
template <int R>
GRAPHC_GEMM_TARGET void tileKernel(const float* a, int64_t rowStride, int64_t kStride, const float* panel, int64_t kc,
                                   float* c, int64_t ldc, int64_t cols, bool accumulate) {
  __m256 l0 = _mm256_setzero_ps(), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0, l4 = l0, h4 = l0,
         l5 = l0, h5 = l0;
  const float* a0 = a;
  const float* a1 = a + rowStride;
  const float* a2 = a + 2 * rowStride;
  const float* a3 = a + 3 * rowStride;
  const float* a4 = a + 4 * rowStride;
  const float* a5 = a + 5 * rowStride;
  int64_t off = 0;
#define GRAPHC_TILE_ROW(r)                                \
  if constexpr (R > r) {                                  \
    __m256 x = _mm256_broadcast_ss(a##r + off);           \
    l##r = _mm256_fmadd_ps(x, b0, l##r);                  \
    h##r = _mm256_fmadd_ps(x, b1, h##r);                  \
  }
  for (int64_t kk = 0; kk < kc; ++kk, off += kStride, panel += kPanelWidth) {
    __m256 b0 = _mm256_loadu_ps(panel), b1 = _mm256_loadu_ps(panel + 8);
    GRAPHC_TILE_ROW(0) GRAPHC_TILE_ROW(1) GRAPHC_TILE_ROW(2) GRAPHC_TILE_ROW(3) GRAPHC_TILE_ROW(4) GRAPHC_TILE_ROW(5)
  }
#undef GRAPHC_TILE_ROW
  storeRow(c, l0, h0, cols, accumulate);
  if constexpr (R > 1) storeRow(c + ldc, l1, h1, cols, accumulate);
  if constexpr (R > 2) storeRow(c + 2 * ldc, l2, h2, cols, accumulate);
  if constexpr (R > 3) storeRow(c + 3 * ldc, l3, h3, cols, accumulate);
  if constexpr (R > 4) storeRow(c + 4 * ldc, l4, h4, cols, accumulate);
  if constexpr (R > 5) storeRow(c + 5 * ldc, l5, h5, cols, accumulate);
}

using TileFn = void (*)(const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t, int64_t, bool);
constexpr TileFn kTileKernels[kTileRows + 1] = {nullptr,         tileKernel<1>, tileKernel<2>, tileKernel<3>,
                                                tileKernel<4>, tileKernel<5>, tileKernel<6>};

// The same product without vector instructions, for CPUs without AVX2/FMA.
void portableTile(const float* a, int64_t rowStride, int64_t kStride, const float* panel, int64_t kc, float* c,
                  int64_t ldc, int64_t rows, int64_t cols, bool accumulate) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      float sum = accumulate ? c[r * ldc + j] : 0.0f;
      for (int64_t kk = 0; kk < kc; ++kk) sum += a[r * rowStride + kk * kStride] * panel[kk * kPanelWidth + j];
      c[r * ldc + j] = sum;
    }
}

// Copies rows [i0, i1) x k-range [k0, k0 + kc) of op(A) = A^T (A is k x m) into
// tiles of 6 rows: out[t][kk][r] = A[k0 + kk][i0 + 6t + r], zero past i1.
void packTransposedRows(const float* a, int64_t m, int64_t i0, int64_t i1, int64_t k0, int64_t kc, float* out) {
  int64_t fullEnd = i0 + (i1 - i0) / kTileRows * kTileRows;
  // Row kk of A is read once, front to back, and dealt out to the tiles (reading
  // each tile's 6 floats down the k rows instead touches a new page per k).
  for (int64_t kk = 0; kk < kc; ++kk) {
    const float* src = a + (k0 + kk) * m;
    for (int64_t t = i0; t < fullEnd; t += kTileRows)
      std::memcpy(out + (t - i0) * kc + kk * kTileRows, src + t, kTileRows * sizeof(float));
    if (fullEnd < i1) {
      float* tile = out + (fullEnd - i0) * kc + kk * kTileRows;
      for (int64_t r = 0; r < kTileRows; ++r) tile[r] = fullEnd + r < i1 ? src[fullEnd + r] : 0.0f;
    }
  }
}

}  // namespace

std::atomic<bool> microKernelEnabled{true};

bool available() {
  static const bool cpuHasIt = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return cpuHasIt && microKernelEnabled.load(std::memory_order_relaxed);
}

void setMicroKernelEnabled(bool enabled) { microKernelEnabled = enabled; }

void packPanels(const float* b, bool transposeB, int64_t k, int64_t n, float* packed, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    float* out = packed + p * k * kPanelWidth;
    int64_t j0 = p * kPanelWidth, cols = std::min(kPanelWidth, n - j0);
    if (!transposeB) {
      // op(B) = B, k x n: each panel row is a contiguous run of B's row.
      for (int64_t kk = 0; kk < k; ++kk) {
        std::memcpy(out + kk * kPanelWidth, b + kk * n + j0, size_t(cols) * sizeof(float));
        std::fill(out + kk * kPanelWidth + cols, out + (kk + 1) * kPanelWidth, 0.0f);
      }
    } else {
      // op(B) = B^T with B n x k: panel column j is B's row j0 + j.
      for (int64_t j = 0; j < kPanelWidth; ++j) {
        if (j >= cols) {
          for (int64_t kk = 0; kk < k; ++kk) out[kk * kPanelWidth + j] = 0.0f;
          continue;
        }
        const float* src = b + (j0 + j) * k;
        for (int64_t kk = 0; kk < k; ++kk) out[kk * kPanelWidth + j] = src[kk];
      }
    }
  }
}

void multiplyPacked(const float* a, bool transposeA, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                    int64_t r0, int64_t r1, int64_t p0, int64_t p1) {
  const int64_t rowStride = transposeA ? 1 : k, kStride = transposeA ? m : 1;
  const bool vector = available();
  if (k == 0) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = p0 * kPanelWidth; j < std::min(n, p1 * kPanelWidth); ++j) c[r * n + j] = 0.0f;
    return;
  }
  // A transposed A puts each k in another row of memory (2 KiB apart for the
  // seed's 512 columns): the tile's 6 loads per k each touch a new line and,
  // without huge pages, a new page. Such blocks are copied into tile order
  // first when several panels reuse the copy (4% faster on the seed step,
  // even with the arena on huge pages).
  const bool packA = transposeA && p1 - p0 >= 4;
  thread_local std::vector<float> aBuffer;
  if (packA && aBuffer.size() < size_t(kRowBlock * kKBlock)) aBuffer.resize(size_t(kRowBlock * kKBlock));
  for (int64_t k0 = 0; k0 < k; k0 += kKBlock) {
    int64_t kc = std::min(kKBlock, k - k0);
    bool accumulate = k0 > 0;
    for (int64_t i0 = r0; i0 < r1; i0 += kRowBlock) {
      int64_t i1 = std::min(r1, i0 + kRowBlock);
      if (packA) packTransposedRows(a, m, i0, i1, k0, kc, aBuffer.data());
      for (int64_t p = p0; p < p1; ++p) {
        const float* panel = packed + (p * k + k0) * kPanelWidth;
        int64_t cols = std::min(kPanelWidth, n - p * kPanelWidth);
        int64_t tilesLeft = (i1 - i0 + kTileRows - 1) / kTileRows;
        for (int64_t i = i0, rows; i < i1; i += rows, --tilesLeft) {
          // Rows spread evenly over the tiles: 32 rows (the seed's batch) as 6+6+5+5+5+5,
          // not 6+6+6+6+6+2, whose 2-row tile is load-bound. Packed A keeps whole tiles.
          rows = packA ? std::min<int64_t>(kTileRows, i1 - i) : (i1 - i + tilesLeft - 1) / tilesLeft;
          const float* aTile = a + i * rowStride + k0 * kStride;
          int64_t tileRowStride = rowStride, tileKStride = kStride;
          if (packA) {
            aTile = aBuffer.data() + (i - i0) * kc;
            tileRowStride = 1;
            tileKStride = kTileRows;
          }
          float* cTile = c + i * n + p * kPanelWidth;
          if (vector) kTileKernels[rows](aTile, tileRowStride, tileKStride, panel, kc, cTile, n, cols, accumulate);
          else portableTile(aTile, tileRowStride, tileKStride, panel, kc, cTile, n, rows, cols, accumulate);
        }
      }
    }
  }
}

namespace {

// How a product is shared out over the kernel threads.
enum class SplitKind { None, Panels, Rows };

struct Split {
  SplitKind kind = SplitKind::None;
  int64_t grain = 1;  // panels per range at the least (Panels)
};

Split chooseSplit(int64_t m, int64_t n, int64_t k) {
  int threads = kernelThreads();
  // A hand-off costs a few microseconds: only products of a million FMAs or more are split.
  if (threads <= 1 || m * n * k < (int64_t(1) << 20)) return {};
  int64_t panels = panelCount(n);
  if (panels >= 2 * threads) {
    // A short product (the recurrent ones) in guided ranges down to one panel; a tall
    // one in one range per thread, since each range re-reads (and, transposed,
    // re-packs) all of A.
    return {SplitKind::Panels, m <= kRowBlock ? 1 : (panels + threads - 1) / threads};
  }
  if (m >= 4 * kTileRows * threads) return {SplitKind::Rows, 1};
  return {};
}

// Part p's share of `count` units, in whole units of `grain`.
std::pair<int64_t, int64_t> shareOf(int64_t p, int64_t parts, int64_t count, int64_t grain) {
  int64_t units = (count + grain - 1) / grain;
  int64_t lo = units * p / parts, hi = units * (p + 1) / parts;
  return {std::min(count, lo * grain), std::min(count, hi * grain)};
}

// fn(r0, r1, p0, p1) over the split: panel ranges, or one row range per thread.
template <typename Fn>
void runSplit(const Split& split, int64_t m, int64_t panels, const Fn& fn) {
  switch (split.kind) {
    case SplitKind::None: fn(0, m, 0, panels); return;
    case SplitKind::Panels:
      parallelRanges(panels, split.grain, [&](int64_t p0, int64_t p1) { fn(0, m, p0, p1); });
      return;
    case SplitKind::Rows: {
      int parts = kernelThreads();
      parallelFor(parts, [&](int part) {
        auto [r0, r1] = shareOf(part, parts, m, kTileRows);
        if (r1 > r0) fn(r0, r1, 0, panels);
      });
      return;
    }
  }
}

std::vector<float>& packBuffer(int64_t elements) {
  thread_local std::vector<float> buffer;
  if (int64_t(buffer.size()) < elements) buffer.resize(size_t(elements));
  return buffer;
}

}  // namespace

void multiply(const float* a, bool transposeA, const float* b, bool transposeB, float* c, int64_t m, int64_t n,
              int64_t k) {
  Split split = chooseSplit(m, n, k);
  int64_t panels = panelCount(n);
  runSplit(split, m, panels, [&](int64_t r0, int64_t r1, int64_t p0, int64_t p1) {
    // Each thread packs the panels it multiplies into its own buffer (all of B
    // when split by rows, which is only chosen when B is narrow).
    std::vector<float>& buffer = packBuffer(packedElements(k, n));
    packPanels(b, transposeB, k, n, buffer.data(), p0, p1);
    multiplyPacked(a, transposeA, buffer.data(), c, m, n, k, r0, r1, p0, p1);
  });
}

void packPanelsParallel(const float* b, bool transposeB, int64_t k, int64_t n, float* packed) {
  int64_t panels = panelCount(n);
  int64_t grain = k * n >= (int64_t(1) << 16) ? 1 : panels;  // small: one thread
  parallelRanges(panels, grain, [&](int64_t p0, int64_t p1) { packPanels(b, transposeB, k, n, packed, p0, p1); });
}

void multiplyPackedParallel(const float* a, bool transposeA, const float* packed, float* c, int64_t m, int64_t n,
                            int64_t k, const Epilogue* epilogue) {
  Split split = chooseSplit(m, n, k);
  int64_t panels = panelCount(n);
  runSplit(split, m, panels, [&](int64_t r0, int64_t r1, int64_t p0, int64_t p1) {
    multiplyPacked(a, transposeA, packed, c, m, n, k, r0, r1, p0, p1);
    if (epilogue && split.kind != SplitKind::Rows)
      epilogue->fn(epilogue->args, p0 * kPanelWidth, std::min(n, p1 * kPanelWidth));
  });
  // Split by rows, no thread has whole columns until all are done.
  if (epilogue && split.kind == SplitKind::Rows) epilogue->fn(epilogue->args, 0, n);
}

}  // namespace graphc::gemm
