// runtime/Random.h — a small, fully specified random generator, so that the
// same --seed gives the same batches and parameters on every platform
// (std::normal_distribution and std::shuffle are implementation-defined).
#pragma once

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace graphc {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {}

  // splitmix64
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double uniform() { return double(next() >> 11) * (1.0 / double(1ull << 53)); }
  // Uniform integer in [lo, hi], both inclusive, without modulo bias.
  int64_t uniformInt(int64_t lo, int64_t hi) {
    uint64_t span = uint64_t(hi - lo) + 1;
    uint64_t limit = span == 0 ? 0 : (~uint64_t(0) - span + 1) % span;  // rejection threshold
    uint64_t x;
    do x = next();
    while (span != 0 && x < limit);
    return lo + int64_t(span == 0 ? x : x % span);
  }
  // Standard normal (Box-Muller; one value per call, the pair's twin is kept).
  double normal() {
    if (hasSpare_) {
      hasSpare_ = false;
      return spare_;
    }
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    double r = std::sqrt(-2.0 * std::log(u1)), theta = 6.283185307179586 * u2;
    spare_ = r * std::sin(theta);
    hasSpare_ = true;
    return r * std::cos(theta);
  }
  // The whole generator state, to save in a checkpoint and restore exactly.
  struct State {
    uint64_t counter;
    double spare;
    bool hasSpare;
  };
  State save() const { return {state_, spare_, hasSpare_}; }
  void restore(const State& s) {
    state_ = s.counter;
    spare_ = s.spare;
    hasSpare_ = s.hasSpare;
  }

  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(uniformInt(0, int64_t(i) - 1))]);
  }

 private:
  uint64_t state_;
  double spare_ = 0;
  bool hasSpare_ = false;
};

}  // namespace graphc
