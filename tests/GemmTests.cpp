// tests/GemmTests.cpp — graphc's generated product micro-kernels and their
// driver against a plain triple loop in double precision, over the shapes
// that exercise the edges: row counts that are not a multiple of the tile,
// widths that end in a partial (masked) panel, K longer than one K block,
// transposed operands, the split over threads by panels and by rows, and the
// epilogue. Every tile graphc chooses for some CPU is checked on this one:
// the AVX-512 tile (12 x 32) is legalized to narrower vectors where the host
// has none, so its code path is tested everywhere.
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "TestUtil.h"
#include "codegen/CompiledProducts.h"
#include "graph/PackedLayout.h"
#include "kernels/runtime_kernels.h"
#include "kernels/team.h"
#include "runtime/Random.h"
#include "runtime/Threads.h"

using namespace graphc;

namespace {

struct Case {
  int64_t m, n, k;
};

// The host, with its ISA, given the tile another CPU would get: width in floats.
Target hostWithTile(int rows, int width) {
  const Target& host = hostTarget();
  REQUIRE(width % host.lanes() == 0);
  return withTile(host, ProductTile{rows, width / host.lanes()});
}

// Adds 1 to every element of the columns it is given (records which it saw).
struct CountingEpilogue {
  static void run(void* const* args, int64_t j0, int64_t j1) {
    auto* self = static_cast<CountingEpilogue*>(args[0]);
    for (int64_t i = 0; i < self->m; ++i)
      for (int64_t j = j0; j < j1; ++j) self->c[size_t(i * self->n + j)] += 1.0f;
    for (int64_t j = j0; j < j1; ++j) self->seen[size_t(j)] += 1;
  }
  std::vector<float>& c;
  int64_t m, n;
  std::vector<int> seen;
};

void checkProduct(const ProductKernels& kernels, const Case& s, bool ta, bool tb) {
  Rng rng(uint64_t(s.m * 1000003 + s.n * 1009 + s.k));
  std::vector<float> a(size_t(s.m * s.k)), b(size_t(s.k * s.n));
  for (float& x : a) x = float(rng.uniform() * 2 - 1);
  for (float& x : b) x = float(rng.uniform() * 2 - 1);
  auto A = [&](int64_t i, int64_t kk) { return ta ? a[size_t(kk * s.m + i)] : a[size_t(i * s.k + kk)]; };
  auto B = [&](int64_t kk, int64_t j) { return tb ? b[size_t(j * s.k + kk)] : b[size_t(kk * s.n + j)]; };
  const int64_t width = kernels.panel_width;
  std::vector<float> direct(size_t(s.m * s.n), -7.0f), viaPacked(direct.size(), -7.0f),
      withEpilogue(direct.size(), -7.0f);
  graphc_rt_matmul(a.data(), b.data(), direct.data(), s.m, s.n, s.k, ta, tb, &kernels);
  std::vector<float> packed(size_t(packedElements(s.k, s.n, width)), -7.0f);
  graphc_rt_pack_panels(b.data(), packed.data(), s.k, s.n, tb, width);
  graphc_rt_packed_matmul(a.data(), packed.data(), viaPacked.data(), s.m, s.n, s.k, ta, &kernels);
  CountingEpilogue counter{withEpilogue, s.m, s.n, std::vector<int>(size_t(s.n), 0)};
  void* args[] = {&counter};
  graphc_rt_packed_matmul_epilogue(a.data(), packed.data(), withEpilogue.data(), s.m, s.n, s.k, ta, &kernels, 1,
                                   CountingEpilogue::run, args);
  for (int64_t j = 0; j < s.n; ++j) REQUIRE(counter.seen[size_t(j)] == 1);  // every column once
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double want = 0, scale = 0;
      for (int64_t kk = 0; kk < s.k; ++kk) {
        want += double(A(i, kk)) * B(kk, j);
        scale += std::abs(double(A(i, kk)) * B(kk, j));
      }
      INFO("tile " << kernels.tile_rows << "x" << width << ": " << s.m << "x" << s.n << "x" << s.k << " ta=" << ta
                   << " tb=" << tb << " at (" << i << ", " << j << ")");
      double tol = 1e-6 * (scale + 1);
      REQUIRE(std::abs(direct[size_t(i * s.n + j)] - want) <= tol);
      REQUIRE(std::abs(viaPacked[size_t(i * s.n + j)] - want) <= tol);
      REQUIRE(std::abs(withEpilogue[size_t(i * s.n + j)] - (want + 1)) <= tol);
    }
  // Panel padding is zero, so the packed operand holds exactly op(B).
  for (int64_t p = 0; p < panelCount(s.n, width); ++p)
    for (int64_t kk = 0; kk < s.k; ++kk)
      for (int64_t j = 0; j < width; ++j) {
        float want = p * width + j < s.n ? B(kk, p * width + j) : 0.0f;
        REQUIRE(packed[size_t((p * s.k + kk) * width + j)] == want);
      }
}

}  // namespace

TEST_CASE("gemm: generated micro-kernels for every chosen tile against a double-precision triple loop") {
  const Case cases[] = {
      {1, 1, 1},     {5, 16, 3},    {6, 17, 9},     {13, 35, 300},  // partial tiles, panels, K blocks
      {32, 64, 540}, {70, 100, 300}, {25, 200, 700},                 // split by panels; epilogue per panel
      {600, 20, 100},                                                 // few panels: split by rows
      {300, 256, 90},  // tall, A copied (transposed): split by rows, each thread copying only its rows
      {300, 130, 90},  // A with twice B's rows or more, read in place: split by rows (ending in a narrow panel)
      {40, 600, 300},                                                 // B packed in several panel groups
      {29, 150, 1024},  // A's rows 4 KiB apart: copied into tile order (they would share an L1 set)
      {14, 2050, 600},  // wide: K in blocks of 512 at least
      {40, 256, 300}, {96, 256, 300},  // a row-major B of whole panels: read in place for few rows, else packed
      {3, 5, 0},                                                      // empty contraction: zeros
  };
  // The host's own tile, the AVX2 tile (6 x 16) and the AVX-512 one (12 x 32), on this CPU's ISA.
  std::vector<Target> targets = {hostTarget()};
  for (auto [rows, width] : {std::pair{6, 16}, std::pair{12, 32}})
    if (width % hostTarget().lanes() == 0) targets.push_back(hostWithTile(rows, width));
  for (const Target& t : targets) {
    const ProductKernels& kernels = compiledProductKernels(t);
    REQUIRE(kernels.panel_width == t.panelWidth());
    REQUIRE(kernels.tile_rows == t.tile.rows);
    REQUIRE(kernels.max_kc >= 64);
    ProductKernels wholeK = kernels;  // a generation program's table: all of K in one pass
    wholeK.max_kc = 0;
    ProductKernels otherCopyRule = kernels;  // a row-major A copied into tile order or not: the other CPU family's rule
    otherCopyRule.pack_row_major_a = !kernels.pack_row_major_a;
    for (int threads : {1, 2}) {
      graphc_team_set_threads(threads);
      for (const Case& s : cases)
        for (bool ta : {false, true})
          for (bool tb : {false, true}) {
            checkProduct(kernels, s, ta, tb);
            checkProduct(wholeK, s, ta, tb);
            checkProduct(otherCopyRule, s, ta, tb);
          }
    }
  }
  runtime::setThreads(0);
}

// Counts the calls of the narrow tiles it stands in for, then runs them.
struct NarrowCalls {
  static inline graphc_tile_kernel real[kMaxTileRows + 1];
  static inline int64_t calls = 0;
  template <int Rows>
  static void tile(const float* a, int64_t rowStride, int64_t kStride, const float* panel, int64_t panelStride,
                   int64_t kc, float* c, int64_t ldc, int64_t cols, int32_t accumulate) {
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    real[Rows](a, rowStride, kStride, panel, panelStride, kc, c, ldc, cols, accumulate);
  }
  template <int... Rows>
  static void standIn(ProductKernels& kernels, std::integer_sequence<int, Rows...>) {
    ((real[Rows] = kernels.narrow_tiles[Rows], kernels.narrow_tiles[Rows] = Rows ? &tile<Rows> : nullptr), ...);
  }
};

TEST_CASE("gemm: a last panel of one vector's columns runs on narrow tiles, with the bits of whole-width ones") {
  const ProductKernels& kernels = compiledProductKernels(hostTarget());
  const int64_t width = kernels.panel_width, lanes = hostTarget().lanes();
  if (width <= lanes) return;  // a one-vector panel has nothing narrower
  REQUIRE(kernels.narrow_width == lanes);
  ProductKernels counted = kernels;
  NarrowCalls::standIn(counted, std::make_integer_sequence<int, kMaxTileRows + 1>());
  ProductKernels wholeWidth = kernels;
  wholeWidth.narrow_width = 0;
  // a word model's 290 columns (9 panels and 2); one vector's columns exactly; a panel and one more;
  // one column more than a vector (whole-width tiles)
  const Case cases[] = {{70, 9 * width + 2, 300}, {37, 2 * width + lanes, 200}, {300, width + 1, 90},
                        {37, width + lanes + 1, 200}};
  for (int threads : {1, 2}) {
    graphc_team_set_threads(threads);
    for (const Case& s : cases)
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          Rng rng(uint64_t(s.m + s.n * 31 + s.k));
          std::vector<float> a(size_t(s.m * s.k)), b(size_t(s.k * s.n));
          for (float& x : a) x = float(rng.uniform() * 2 - 1);
          for (float& x : b) x = float(rng.uniform() * 2 - 1);
          std::vector<float> narrow(size_t(s.m * s.n)), whole(narrow.size());
          NarrowCalls::calls = 0;
          graphc_rt_matmul(a.data(), b.data(), narrow.data(), s.m, s.n, s.k, ta, tb, &counted);
          graphc_rt_matmul(a.data(), b.data(), whole.data(), s.m, s.n, s.k, ta, tb, &wholeWidth);
          INFO(s.m << "x" << s.n << "x" << s.k << " ta=" << ta << " tb=" << tb << " threads=" << threads);
          CHECK((NarrowCalls::calls > 0) == (s.n % width <= lanes));
          REQUIRE(std::memcmp(narrow.data(), whole.data(), narrow.size() * sizeof(float)) == 0);
        }
  }
  runtime::setThreads(0);
}

// An epilogue over column blocks (an LSTM's four gates read side by side): called with columns
// [j0, j1) of one block, it checks that those columns are final in every block, then adds 1 to them.
struct BlockEpilogue {
  static void run(void* const* args, int64_t j0, int64_t j1) {
    auto* self = static_cast<BlockEpilogue*>(args[0]);
    const int64_t width = self->n / self->blocks;
    for (int64_t blk = 0; blk < self->blocks; ++blk)
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t col = blk * width + j;
        for (int64_t i = 0; i < self->m; ++i) {
          const size_t at = size_t(i * self->n + col);
          if (std::abs(self->c[at] - self->want[at]) > 1e-4f * (1 + std::abs(self->want[at]))) self->early = true;
          self->c[at] += 1.0f;
        }
        self->seen[size_t(col)] += 1;
      }
  }
  std::vector<float>& c;
  const std::vector<float>& want;
  int64_t m, n, blocks;
  std::vector<int> seen;
  bool early = false;
};

TEST_CASE("gemm: an epilogue over column blocks runs once each unit is final in every block") {
  const ProductKernels& kernels = compiledProductKernels(hostTarget());
  const int64_t width = kernels.panel_width;
  // in L1 unit by unit (few rows); the K-blocked order (many rows); A copied into tile order (ta); k = 0
  const Case cases[] = {{32, 4 * 8 * width, 256}, {200, 4 * 3 * width, 300}, {5, 3 * width, 40}, {7, 4 * 2 * width, 0}};
  for (int threads : {1, 2}) {
    graphc_team_set_threads(threads);
    for (const Case& s : cases)
      for (bool ta : {false, true}) {
        const int64_t blocks = s.n % (4 * width) == 0 ? 4 : 3;
        Rng rng(uint64_t(s.m * 7 + s.n + s.k));
        std::vector<float> a(size_t(s.m * s.k)), b(size_t(s.k * s.n));
        for (float& x : a) x = float(rng.uniform() * 2 - 1);
        for (float& x : b) x = float(rng.uniform() * 2 - 1);
        std::vector<float> want(size_t(s.m * s.n)), c(want.size(), -7.0f);
        graphc_rt_matmul(a.data(), b.data(), want.data(), s.m, s.n, s.k, ta, 0, &kernels);
        std::vector<float> packed(size_t(packedElements(s.k, s.n, width)));
        graphc_rt_pack_panels(b.data(), packed.data(), s.k, s.n, 0, width);
        BlockEpilogue epilogue{c, want, s.m, s.n, blocks, std::vector<int>(size_t(s.n), 0)};
        void* args[] = {&epilogue};
        graphc_rt_packed_matmul_epilogue(a.data(), packed.data(), c.data(), s.m, s.n, s.k, ta, &kernels, blocks,
                                         BlockEpilogue::run, args);
        INFO(s.m << "x" << s.n << "x" << s.k << " ta=" << ta << " blocks=" << blocks << " threads=" << threads);
        CHECK_FALSE(epilogue.early);
        for (int64_t j = 0; j < s.n; ++j) REQUIRE(epilogue.seen[size_t(j)] == 1);
        for (size_t at = 0; at < c.size(); ++at) REQUIRE(c[at] == want[at] + 1.0f);
      }
  }
  runtime::setThreads(0);
}

// graphc_product_strided: A, op(B) and C are windows of wider matrices (a chunk of an output
// layer's logits, weights and gradient); A is read in place or copied into tile order, B read in
// place or packed group by group, C is written in place and nothing outside the window changes.
TEST_CASE("gemm: products over windows of wider matrices, A, B and C in place") {
  const ProductKernels& kernels = compiledProductKernels(hostTarget());
  const int64_t width = kernels.panel_width;
  struct Window {
    int64_t m, n, k;
  };
  for (int threads : {1, 2}) {
    graphc_team_set_threads(threads);
    // the last: A's rows 1024 floats apart (lda = k + 13), copied into tile order
    for (Window s : {Window{37, 4 * width, 300}, Window{37, 3 * width + 5, 300}, Window{200, 20 * width, 90},
                     Window{37, 4 * width + 3, 1011}})
      for (bool ta : {false, true})
        for (bool tb : {false, true})
          for (int32_t accumulate : {0, 1}) {
            const int64_t ldb = (tb ? s.k : s.n) + 11, ldc = s.n + 7, lda = (ta ? s.m : s.k) + 13;
            Rng rng(uint64_t(s.m * 31 + s.n * 7 + s.k + ta * 2 + tb));
            std::vector<float> a(size_t(lda * (ta ? s.k : s.m))), b(size_t(ldb * (tb ? s.n : s.k))),
                c(size_t(ldc * s.m));
            for (float& x : a) x = float(rng.uniform() * 2 - 1);
            for (float& x : b) x = float(rng.uniform() * 2 - 1);
            for (float& x : c) x = float(rng.uniform() * 2 - 1);
            const std::vector<float> before = c;
            graphc_product_strided(a.data(), lda, ta, b.data(), ldb, tb, c.data(), ldc, s.m, s.n, s.k, accumulate,
                                   &kernels);
            for (int64_t i = 0; i < s.m; ++i)
              for (int64_t j = 0; j < ldc; ++j) {
                INFO(s.m << "x" << s.n << "x" << s.k << " ta=" << ta << " tb=" << tb << " accumulate=" << accumulate
                          << " threads=" << threads << " at (" << i << ", " << j << ")");
                const size_t at = size_t(i * ldc + j);
                if (j >= s.n) {
                  REQUIRE(c[at] == before[at]);
                  continue;
                }
                double want = accumulate ? before[at] : 0.0, scale = std::abs(want);
                for (int64_t kk = 0; kk < s.k; ++kk) {
                  double x = ta ? a[size_t(kk * lda + i)] : a[size_t(i * lda + kk)];
                  double y = tb ? b[size_t(j * ldb + kk)] : b[size_t(kk * ldb + j)];
                  want += x * y;
                  scale += std::abs(x * y);
                }
                REQUIRE(std::abs(c[at] - want) <= 1e-6 * (scale + 1));
              }
          }
  }
  runtime::setThreads(0);
}

TEST_CASE("target: tiles follow the vector width and register count") {
  Target avx2 = targetFor("znver3"), avx512 = targetFor("sapphirerapids"), sse = targetFor("x86-64");
  CHECK(avx2.vectorBits == 256);
  CHECK(avx2.vectorRegisters == 16);
  CHECK(avx2.panelWidth() == 16);
  CHECK(avx2.tile.rows == 6);
  CHECK(avx512.vectorBits == 512);
  CHECK(avx512.vectorRegisters == 32);
  CHECK(avx512.panelWidth() == 32);
  CHECK(avx512.tile.rows == 12);
  CHECK(avx512.integerSharesFmaPorts);  // Intel: the tile's address arithmetic takes FMA ports
  CHECK_FALSE(avx2.integerSharesFmaPorts);
  CHECK_FALSE(targetFor("znver5").integerSharesFmaPorts);
  CHECK(sse.vectorBits == 128);
  CHECK(sse.panelWidth() == 8);
  CHECK_FALSE(sse.hasFma);
  CHECK(runsOnHost(sse));  // every x86-64 runs the baseline
  CHECK(isSystemFeature("pku"));
  CHECK(isSystemFeature("mwaitx"));
  CHECK_FALSE(isSystemFeature("avx2"));
  CHECK_FALSE(isSystemFeature("fma"));
  if (hostTarget().cpu == "znver4" || hostTarget().cpu == "znver5")  // all of Zen 3's arithmetic, whatever its VM hides
    CHECK(runsOnHost(avx2));
  CHECK_THROWS_WITH_AS(targetFor("pentium9"),
                       doctest::Contains("--target-cpu: 'pentium9' is not a CPU LLVM knows"), Error);
  CHECK_THROWS_AS(withTile(avx2, ProductTile{17, 2}), Error);
  CHECK(usableCpus() >= 1);
}
