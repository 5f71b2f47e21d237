// tests/GemmTests.cpp — graphc's own matrix product against a plain triple
// loop in double precision, over the shapes that exercise its edges: row
// counts that are not a multiple of the 6-row tile, widths that end in a
// partial panel, K longer than one K block, transposed operands, and the
// split over threads by panels and by rows.
#include <cmath>
#include <vector>

#include "TestUtil.h"
#include "codegen/Gemm.h"
#include "codegen/ThreadPool.h"
#include "runtime/Random.h"

using namespace graphc;

namespace {

struct Case {
  int64_t m, n, k;
};

void checkProduct(const Case& s, bool ta, bool tb) {
  Rng rng(uint64_t(s.m * 1000003 + s.n * 1009 + s.k));
  std::vector<float> a(size_t(s.m * s.k)), b(size_t(s.k * s.n));
  for (float& x : a) x = float(rng.uniform() * 2 - 1);
  for (float& x : b) x = float(rng.uniform() * 2 - 1);
  auto A = [&](int64_t i, int64_t kk) { return ta ? a[size_t(kk * s.m + i)] : a[size_t(i * s.k + kk)]; };
  auto B = [&](int64_t kk, int64_t j) { return tb ? b[size_t(j * s.k + kk)] : b[size_t(kk * s.n + j)]; };
  std::vector<float> direct(size_t(s.m * s.n), -7.0f), viaPacked(direct.size(), -7.0f);
  gemm::multiply(a.data(), ta, b.data(), tb, direct.data(), s.m, s.n, s.k);
  std::vector<float> packed(size_t(gemm::packedElements(s.k, s.n)), -7.0f);
  gemm::packPanelsParallel(b.data(), tb, s.k, s.n, packed.data());
  gemm::multiplyPackedParallel(a.data(), ta, packed.data(), viaPacked.data(), s.m, s.n, s.k);
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double want = 0, scale = 0;
      for (int64_t kk = 0; kk < s.k; ++kk) {
        want += double(A(i, kk)) * B(kk, j);
        scale += std::abs(double(A(i, kk)) * B(kk, j));
      }
      INFO(s.m << "x" << s.n << "x" << s.k << " ta=" << ta << " tb=" << tb << " at (" << i << ", " << j << ")");
      double tol = 1e-6 * (scale + 1);
      REQUIRE(std::abs(direct[size_t(i * s.n + j)] - want) <= tol);
      REQUIRE(std::abs(viaPacked[size_t(i * s.n + j)] - want) <= tol);
    }
  // Panel padding is zero, so the packed operand holds exactly op(B).
  for (int64_t p = 0; p < panelCount(s.n); ++p)
    for (int64_t kk = 0; kk < s.k; ++kk)
      for (int64_t j = 0; j < kPanelWidth; ++j) {
        float want = p * kPanelWidth + j < s.n ? B(kk, p * kPanelWidth + j) : 0.0f;
        REQUIRE(packed[size_t((p * s.k + kk) * kPanelWidth + j)] == want);
      }
}

}  // namespace

TEST_CASE("gemm: the packed-panel product against a double-precision triple loop") {
  const Case cases[] = {
      {1, 1, 1},     {5, 16, 3},    {6, 17, 9},     {13, 35, 300},  // partial tiles, panels, K blocks
      {32, 64, 540}, {70, 100, 300},                                 // split by panels across threads
      {600, 20, 100},                                                 // few panels: split by rows
      {3, 5, 0},                                                      // empty contraction: zeros
  };
  for (bool microKernel : {true, false}) {  // false: the portable path of CPUs without AVX2/FMA
    gemm::setMicroKernelEnabled(microKernel);
    for (int threads : {1, 2}) {
      setKernelThreads(threads);
      for (const Case& s : cases)
        for (bool ta : {false, true})
          for (bool tb : {false, true}) checkProduct(s, ta, tb);
    }
  }
  gemm::setMicroKernelEnabled(true);
  setKernelThreads(0);
}
