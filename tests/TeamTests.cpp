// tests/TeamTests.cpp — the kernels' thread team (kernels/team.h): every call
// covers its range exactly once whatever the threads, a call from inside a
// range or from a second thread runs alone and still covers it, and a
// product gives the same bits on any number of threads.
#include <atomic>
#include <cstring>
#include <thread>
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

// Counts how often each index was covered, and which slots ran.
struct Coverage {
  explicit Coverage(int64_t n) : hits(size_t(n)) {}
  std::vector<std::atomic<int>> hits;
  std::atomic<int> outsideTeam{0};
  std::atomic<int> shortRanges{0};
  int64_t grain = 1;

  static void range(void* ctx, int slot, int64_t begin, int64_t end) {
    auto* self = static_cast<Coverage*>(ctx);
    if (slot < 0) self->outsideTeam++;
    if (end - begin < self->grain && end != int64_t(self->hits.size())) self->shortRanges++;
    for (int64_t i = begin; i < end; ++i) self->hits[size_t(i)]++;
  }
  bool once() const {
    for (const auto& h : hits)
      if (h.load() != 1) return false;
    return true;
  }
};

// A range that starts a whole parallel call of its own.
struct Nested {
  Coverage inner{1000};
  static void range(void* ctx, int, int64_t begin, int64_t end) {
    auto* self = static_cast<Nested*>(ctx);
    for (int64_t i = begin; i < end; ++i)
      if (i == 0) graphc_team_ranges(int64_t(self->inner.hits.size()), 1, Coverage::range, &self->inner);
  }
};

}  // namespace

TEST_CASE("team: ranges cover each index once, at least a grain long, on any number of threads") {
  for (int threads : {1, 2, 3}) {
    REQUIRE(graphc_team_set_threads(threads) == threads);
    CHECK(graphc_team_requested() == threads);
    for (int64_t count : {1, 2, 7, 64, 1000, 100003})
      for (int64_t grain : {1, 5, 64})
        for (int rep = 0; rep < 3; ++rep) {
          Coverage c(count);
          c.grain = grain;
          graphc_team_ranges(count, grain, Coverage::range, &c);
          INFO(threads << " threads, " << count << " indices, grain " << grain);
          REQUIRE(c.once());
          CHECK(c.outsideTeam == 0);
          CHECK(c.shortRanges == 0);
        }
  }
  runtime::setThreads(0);
}

// Which part of a pinned call each slot ran: part s is [count s / T, count (s + 1) / T).
struct Parts {
  explicit Parts(int64_t n, int threads) : coverage(n), threads(threads) {}
  Coverage coverage;
  int threads;
  std::atomic<int> ownParts{0}, misplaced{0};
  static void range(void* ctx, int slot, int64_t begin, int64_t end) {
    auto* self = static_cast<Parts*>(ctx);
    Coverage::range(&self->coverage, slot, begin, end);
    const int64_t n = int64_t(self->coverage.hits.size());
    if (begin == 0 && end == n) {  // too short to split: the caller runs it all
      self->ownParts++;
      return;
    }
    int part = -1;
    for (int s = 0; s < self->threads; ++s)
      if (begin == n * s / self->threads && end == n * (s + 1) / self->threads) part = s;
    if (part < 0) self->misplaced++;
    if (part == slot) self->ownParts++;
  }
};

TEST_CASE("team: pinned parts cover each index once, a part per thread, a worker's own part when it comes") {
  for (int threads : {1, 2, 3}) {
    REQUIRE(graphc_team_set_threads(threads) == threads);
    for (int64_t count : {1, 2, 7, 64, 100003})
      for (int rep = 0; rep < 20; ++rep) {
        Parts p(count, threads);
        graphc_team_parts(count, Parts::range, &p);
        INFO(threads << " threads, " << count << " indices");
        REQUIRE(p.coverage.once());
        CHECK(p.misplaced == 0);  // whole parts (or all of it, when it is too short to split)
        CHECK(p.ownParts >= 1);   // the caller runs its own part at least
      }
  }
  runtime::setThreads(0);
}

TEST_CASE("team: a call from inside a range, or while another thread owns the team, runs alone and covers") {
  graphc_team_set_threads(2);
  Nested nested;
  graphc_team_ranges(4, 1, Nested::range, &nested);
  CHECK(nested.inner.once());
  CHECK(nested.inner.outsideTeam == 1);  // one range, run by the caller on its own

  // Two threads calling at once, many times: each call's indices once.
  std::atomic<bool> ok{true};
  auto caller = [&] {
    for (int rep = 0; rep < 300; ++rep) {
      Coverage c(5000);
      graphc_team_ranges(5000, 1, Coverage::range, &c);
      if (!c.once()) ok = false;
    }
  };
  std::thread other(caller);
  caller();
  other.join();
  CHECK(ok);
  runtime::setThreads(0);
}

TEST_CASE("team: stopping right after starting never waits for a worker that has not run yet") {
  // A worker may first run after the stop moved the job number: it must still see the stop.
  for (int rep = 0; rep < 200; ++rep) {
    REQUIRE(graphc_team_set_threads(3) == 3);
    graphc_team_stop();
    CHECK(graphc_team_requested() == 1);
  }
  Coverage c(100);
  graphc_team_set_threads(2);
  graphc_team_ranges(100, 1, Coverage::range, &c);  // and the team starts again
  CHECK(c.once());
  runtime::setThreads(0);
}

TEST_CASE("team: a product computes the same bits on 1, 2 and 3 threads, split by panels and by rows") {
  const ProductKernels& kernels = compiledProductKernels(hostTarget());
  struct Shape {
    int64_t m, n, k;
    bool ta;
  };
  for (Shape s : {Shape{32, 2048, 512, false}, Shape{1120, 40, 300, false}, Shape{512, 512, 1120, true},
                  Shape{1, 4096, 256, false}}) {
    Rng rng(uint64_t(s.m * 31 + s.n));
    std::vector<float> a(size_t(s.m * s.k)), b(size_t(s.k * s.n));
    for (float& x : a) x = float(rng.uniform() * 2 - 1);
    for (float& x : b) x = float(rng.uniform() * 2 - 1);
    std::vector<float> packed(size_t(packedElements(s.k, s.n, kernels.panel_width)));
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 3}) {
      graphc_team_set_threads(threads);
      graphc_rt_pack_panels(b.data(), packed.data(), s.k, s.n, 0, kernels.panel_width);
      std::vector<float> c(size_t(s.m * s.n), -1.0f), unpacked(c.size(), -2.0f);
      graphc_rt_packed_matmul(a.data(), packed.data(), c.data(), s.m, s.n, s.k, s.ta, &kernels);
      graphc_rt_matmul(a.data(), b.data(), unpacked.data(), s.m, s.n, s.k, s.ta, 0, &kernels);
      REQUIRE(std::memcmp(c.data(), unpacked.data(), c.size() * 4) == 0);
      results.push_back(c);
    }
    INFO(s.m << "x" << s.n << "x" << s.k);
    CHECK(std::memcmp(results[0].data(), results[1].data(), results[0].size() * 4) == 0);
    CHECK(std::memcmp(results[0].data(), results[2].data(), results[0].size() * 4) == 0);
  }
  runtime::setThreads(0);
}
