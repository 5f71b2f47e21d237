// codegen/Gemm.cpp — see Gemm.h. The micro-kernels come from generated code;
// this file decides which rows, panels and K ranges each call covers, and on
// which thread.
#include "codegen/Gemm.h"

#include "codegen/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

namespace graphc::gemm {
namespace {

// K is cut into equal blocks of at most this many bytes of panel (kc x width
// floats), so a panel's slice stays in L1 while every row tile of a row block
// passes over it; 32 KiB fits the 48 KiB L1 of Zen 4/5 and Sapphire Rapids and
// half of it is 256 x 16 floats, the block measured best on Zen 3.
constexpr int64_t kPanelSliceBytes = 32 << 10;
// Rows of A per block: a packed block of A (96 x 256 floats = 96 KiB) stays in L2.
constexpr int64_t kRowBlockTarget = 96;

struct Blocking {
  int64_t tileRows, width, rowBlock, kBlocks;
  int64_t kBlock(int64_t k) const { return (k + kBlocks - 1) / kBlocks; }
};

Blocking blockingFor(const ProductKernels& kernels, int64_t k) {
  Blocking b;
  b.tileRows = kernels.tileRows;
  b.width = kernels.panelWidth;
  b.rowBlock = (kRowBlockTarget + b.tileRows - 1) / b.tileRows * b.tileRows;
  int64_t maxKc = std::max<int64_t>(64, kPanelSliceBytes / (b.width * int64_t(sizeof(float))));
  b.kBlocks = std::max<int64_t>(1, (k + maxKc - 1) / maxKc);
  return b;
}

// Copies rows [i0, i1) x k-range [k0, k0 + kc) of op(A) = A^T (A is k x m) into
// tiles of `tile` rows: out[t][kk][r] = A[k0 + kk][i0 + tile t + r], zero past i1.
void packTransposedRows(const float* a, int64_t m, int64_t i0, int64_t i1, int64_t k0, int64_t kc, int64_t tile,
                        float* out) {
  int64_t fullEnd = i0 + (i1 - i0) / tile * tile;
  // Row kk of A is read once, front to back, and dealt out to the tiles (reading
  // each tile's floats down the k rows instead touches a new page per k).
  for (int64_t kk = 0; kk < kc; ++kk) {
    const float* src = a + (k0 + kk) * m;
    for (int64_t t = i0; t < fullEnd; t += tile)
      std::memcpy(out + (t - i0) * kc + kk * tile, src + t, size_t(tile) * sizeof(float));
    if (fullEnd < i1) {
      float* dst = out + (fullEnd - i0) * kc + kk * tile;
      for (int64_t r = 0; r < tile; ++r) dst[r] = fullEnd + r < i1 ? src[fullEnd + r] : 0.0f;
    }
  }
}

// One panel's K block over rows [i0, i1): the row tiles, rows spread evenly
// over them (32 rows on a 6-row tile as 6+6+5+5+5+5, not 6+6+6+6+6+2, whose
// 2-row tile is load-bound). A packed A keeps whole tiles.
void panelBlock(const ProductKernels& kernels, const Blocking& bl, const float* a, int64_t rowStride,
                int64_t kStride, const float* aPacked, const float* panel, float* c, int64_t n, int64_t i0,
                int64_t i1, int64_t k0, int64_t kc, int64_t colBase, bool accumulate) {
  int64_t cols = std::min(bl.width, n - colBase);
  int64_t tilesLeft = (i1 - i0 + bl.tileRows - 1) / bl.tileRows;
  for (int64_t i = i0, rows; i < i1; i += rows, --tilesLeft) {
    rows = aPacked ? std::min(bl.tileRows, i1 - i) : (i1 - i + tilesLeft - 1) / tilesLeft;
    float* cTile = c + i * n + colBase;
    if (aPacked)
      kernels.tiles[rows](aPacked + (i - i0) * kc, 1, bl.tileRows, panel, kc, cTile, n, cols, accumulate);
    else
      kernels.tiles[rows](a + i * rowStride + k0 * kStride, rowStride, kStride, panel, kc, cTile, n, cols, accumulate);
  }
}

}  // namespace

void packPanels(const float* b, bool transposeB, int64_t k, int64_t n, int64_t width, float* packed, int64_t p0,
                int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    float* out = packed + p * k * width;
    int64_t j0 = p * width, cols = std::min(width, n - j0);
    if (!transposeB) {
      // op(B) = B, k x n: each panel row is a contiguous run of B's row.
      for (int64_t kk = 0; kk < k; ++kk) {
        std::memcpy(out + kk * width, b + kk * n + j0, size_t(cols) * sizeof(float));
        std::fill(out + kk * width + cols, out + (kk + 1) * width, 0.0f);
      }
    } else {
      // op(B) = B^T with B n x k: panel column j is B's row j0 + j.
      for (int64_t j = 0; j < width; ++j) {
        if (j >= cols) {
          for (int64_t kk = 0; kk < k; ++kk) out[kk * width + j] = 0.0f;
          continue;
        }
        const float* src = b + (j0 + j) * k;
        for (int64_t kk = 0; kk < k; ++kk) out[kk * width + j] = src[kk];
      }
    }
  }
}

void multiplyPacked(const ProductKernels& kernels, const float* a, bool transposeA, const float* packed, float* c,
                    int64_t m, int64_t n, int64_t k, int64_t r0, int64_t r1, int64_t p0, int64_t p1,
                    const Epilogue* epilogue) {
  const Blocking bl = blockingFor(kernels, k);
  const int64_t rowStride = transposeA ? 1 : k, kStride = transposeA ? m : 1;
  auto runEpilogue = [&](int64_t q0, int64_t q1) {
    if (epilogue && q1 > q0) epilogue->fn(epilogue->args, q0 * bl.width, std::min(n, q1 * bl.width));
  };
  if (k == 0) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = p0 * bl.width; j < std::min(n, p1 * bl.width); ++j) c[r * n + j] = 0.0f;
    runEpilogue(p0, p1);
    return;
  }
  // A transposed A puts each k in another row of memory (2 KiB apart for the
  // seed's 512 columns): the tile's loads per k each touch a new line and,
  // without huge pages, a new page. Such blocks are copied into tile order
  // first when several panels reuse the copy (4% faster on the seed step,
  // even with the arena on huge pages).
  const bool packA = transposeA && p1 - p0 >= 4;
  const int64_t kc0 = bl.kBlock(k);
  if (epilogue && !packA && r1 - r0 <= bl.rowBlock) {
    // Panel by panel, all of K: each panel's columns are final while still in
    // L1, and the epilogue (bias, tanh, ...) runs on them right away.
    for (int64_t p = p0; p < p1; ++p) {
      for (int64_t k0 = 0; k0 < k; k0 += kc0) {
        int64_t kc = std::min(kc0, k - k0);
        panelBlock(kernels, bl, a, rowStride, kStride, nullptr, packed + (p * k + k0) * bl.width, c, n, r0, r1, k0,
                   kc, p * bl.width, k0 > 0);
      }
      runEpilogue(p, p + 1);
    }
    return;
  }
  thread_local std::vector<float> aBuffer;
  if (packA && aBuffer.size() < size_t(bl.rowBlock * kc0)) aBuffer.resize(size_t(bl.rowBlock * kc0));
  for (int64_t k0 = 0; k0 < k; k0 += kc0) {
    int64_t kc = std::min(kc0, k - k0);
    for (int64_t i0 = r0; i0 < r1; i0 += bl.rowBlock) {
      int64_t i1 = std::min(r1, i0 + bl.rowBlock);
      if (packA) packTransposedRows(a, m, i0, i1, k0, kc, bl.tileRows, aBuffer.data());
      for (int64_t p = p0; p < p1; ++p)
        panelBlock(kernels, bl, a, rowStride, kStride, packA ? aBuffer.data() : nullptr,
                   packed + (p * k + k0) * bl.width, c, n, i0, i1, k0, kc, p * bl.width, k0 > 0);
    }
  }
  runEpilogue(p0, p1);
}

namespace {

// How a product is shared out over the kernel threads.
enum class SplitKind { None, Panels, Rows };

struct Split {
  SplitKind kind = SplitKind::None;
  int64_t grain = 1;  // panels per range at the least (Panels)
};

Split chooseSplit(const ProductKernels& kernels, int64_t m, int64_t n, int64_t k) {
  int threads = kernelThreads();
  // A hand-off costs a few microseconds: only products of a million FMAs or more are split.
  if (threads <= 1 || m * n * k < (int64_t(1) << 20)) return {};
  int64_t panels = panelCount(n, kernels.panelWidth);
  if (panels >= 2 * threads) {
    // A short product (the recurrent ones) in guided ranges down to one panel; a tall
    // one in one range per thread, since each range re-reads (and, transposed,
    // re-packs) all of A.
    return {SplitKind::Panels, m <= kRowBlockTarget ? 1 : (panels + threads - 1) / threads};
  }
  if (m >= 4 * kernels.tileRows * threads) return {SplitKind::Rows, 1};
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
void runSplit(const Split& split, int64_t m, int64_t panels, int64_t tileRows, const Fn& fn) {
  switch (split.kind) {
    case SplitKind::None: fn(0, m, 0, panels); return;
    case SplitKind::Panels:
      parallelRanges(panels, split.grain, [&](int64_t p0, int64_t p1) { fn(0, m, p0, p1); });
      return;
    case SplitKind::Rows: {
      int parts = kernelThreads();
      parallelFor(parts, [&](int part) {
        auto [r0, r1] = shareOf(part, parts, m, tileRows);
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

void multiply(const ProductKernels& kernels, const float* a, bool transposeA, const float* b, bool transposeB,
              float* c, int64_t m, int64_t n, int64_t k) {
  Split split = chooseSplit(kernels, m, n, k);
  int64_t width = kernels.panelWidth, panels = panelCount(n, width);
  runSplit(split, m, panels, kernels.tileRows, [&](int64_t r0, int64_t r1, int64_t p0, int64_t p1) {
    // Each thread packs the panels it multiplies into its own buffer (all of B
    // when split by rows, which is only chosen when B is narrow).
    std::vector<float>& buffer = packBuffer(packedElements(k, n, width));
    packPanels(b, transposeB, k, n, width, buffer.data(), p0, p1);
    multiplyPacked(kernels, a, transposeA, buffer.data(), c, m, n, k, r0, r1, p0, p1);
  });
}

void packPanelsParallel(const float* b, bool transposeB, int64_t k, int64_t n, int64_t width, float* packed) {
  int64_t panels = panelCount(n, width);
  int64_t grain = k * n >= (int64_t(1) << 16) ? 1 : panels;  // small: one thread
  parallelRanges(panels, grain,
                 [&](int64_t p0, int64_t p1) { packPanels(b, transposeB, k, n, width, packed, p0, p1); });
}

void multiplyPackedParallel(const ProductKernels& kernels, const float* a, bool transposeA, const float* packed,
                            float* c, int64_t m, int64_t n, int64_t k, const Epilogue* epilogue) {
  Split split = chooseSplit(kernels, m, n, k);
  int64_t panels = panelCount(n, kernels.panelWidth);
  bool byRows = split.kind == SplitKind::Rows;
  runSplit(split, m, panels, kernels.tileRows, [&](int64_t r0, int64_t r1, int64_t p0, int64_t p1) {
    multiplyPacked(kernels, a, transposeA, packed, c, m, n, k, r0, r1, p0, p1, byRows ? nullptr : epilogue);
  });
  // Split by rows, no thread has whole columns until all are done.
  if (epilogue && byRows) epilogue->fn(epilogue->args, 0, n);
}

}  // namespace graphc::gemm
