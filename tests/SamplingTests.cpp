// tests/SamplingTests.cpp — the token choice every generation path shares
// (codegen/portable/sampling.c): greedy, top-k, top-p and the repetition penalty.
#include <cmath>
#include <set>
#include <vector>

#include "TestUtil.h"
#include "codegen/portable/sampling.h"

namespace {

// The tokens drawn from `logits` over many seeds.
std::set<int32_t> drawn(const std::vector<float>& logits, graphc_sampling s, int draws = 400) {
  std::set<int32_t> out;
  for (int seed = 0; seed < draws; ++seed) {
    std::vector<float> copy = logits;
    uint64_t rng = graphc_rng_seeded(uint64_t(seed));
    out.insert(graphc_sample(copy.data(), int64_t(copy.size()), &s, nullptr, 0, &rng));
  }
  return out;
}

}  // namespace

TEST_CASE("sampling: greedy takes the first largest; top-k keeps the k largest") {
  std::vector<float> logits = {1, 5, 3, 4, 2};
  CHECK(drawn(logits, {0.0, 0, 1.0, 1.0}, 3) == std::set<int32_t>{1});
  CHECK(drawn({1, 5, 3, 5}, {0.0, 0, 1.0, 1.0}, 3) == std::set<int32_t>{1});
  CHECK(drawn(logits, {1.0, 0, 1.0, 1.0}) == std::set<int32_t>{0, 1, 2, 3, 4});
  CHECK(drawn(logits, {1.0, 1, 1.0, 1.0}) == std::set<int32_t>{1});
  CHECK(drawn(logits, {1.0, 2, 1.0, 1.0}) == std::set<int32_t>{1, 3});
  CHECK(drawn(logits, {1.0, 5, 1.0, 1.0}) == std::set<int32_t>{0, 1, 2, 3, 4});
  CHECK(drawn({1, 5, 3, 5}, {1.0, 1, 1.0, 1.0}) == std::set<int32_t>{1, 3});  // ties with the k-th stay
  CHECK(drawn({-1e30f, -3, -1e30f, -2}, {1.0, 3, 1.0, 1.0}) == std::set<int32_t>{1, 3});
}

TEST_CASE("sampling: top-p keeps the most likely tokens holding that much of the mass") {
  std::vector<float> logits;
  for (double p : {0.5, 0.3, 0.1, 0.1}) logits.push_back(float(std::log(p)));
  CHECK(drawn(logits, {1.0, 0, 0.45, 1.0}) == std::set<int32_t>{0});
  CHECK(drawn(logits, {1.0, 0, 0.79, 1.0}) == std::set<int32_t>{0, 1});
  CHECK(drawn(logits, {1.0, 0, 0.85, 1.0}) == std::set<int32_t>{0, 1, 2, 3});  // the 0.1s tie: both stay
  CHECK(drawn(logits, {1.0, 2, 0.99, 1.0}) == std::set<int32_t>{0, 1});        // top-k first, then top-p
  // The draws follow the kept probabilities: about 5/8 zeros with top-p 0.79.
  int zeros = 0;
  for (int seed = 0; seed < 4000; ++seed) {
    std::vector<float> copy = logits;
    uint64_t rng = graphc_rng_seeded(uint64_t(seed));
    graphc_sampling s{1.0, 0, 0.79, 1.0};
    zeros += graphc_sample(copy.data(), 4, &s, nullptr, 0, &rng) == 0;
  }
  CHECK(zeros / 4000.0 == doctest::Approx(0.625).epsilon(0.05));
}

TEST_CASE("sampling: the repetition penalty, once per recent token, both signs") {
  auto greedy = [](std::vector<float> logits, std::vector<int32_t> recent, double penalty) {
    graphc_sampling s{0.0, 0, 1.0, penalty};
    uint64_t rng = 1;
    return graphc_sample(logits.data(), int64_t(logits.size()), &s, recent.data(), int64_t(recent.size()), &rng);
  };
  CHECK(greedy({2.0f, 1.9f}, {0}, 1.0) == 0);
  CHECK(greedy({2.0f, 1.9f}, {0}, 2.0) == 1);      // 2 / 2 = 1 < 1.9
  CHECK(greedy({-1.0f, -1.5f}, {0}, 2.0) == 1);    // -1 * 2 = -2 < -1.5
  CHECK(greedy({2.0f, 0.9f}, {0, 0}, 2.0) == 0);   // once: 1 > 0.9 (twice would be 0.5)
  CHECK(greedy({2.0f, 1.9f}, {5, -1}, 2.0) == 0);  // ids outside the vocabulary are ignored
  std::vector<int32_t> old(GRAPHC_PENALTY_WINDOW + 1, 1);
  old[0] = 0;  // beyond the window
  CHECK(greedy({2.0f, 1.9f}, old, 2.0) == 0);
}
