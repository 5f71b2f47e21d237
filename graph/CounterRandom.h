// graph/CounterRandom.h — the counter-based generator behind random_uniform
// (dropout masks): a value is a pure function of (seed, step, stream,
// element), never of a stateful stream, so the interpreter, the JIT, any
// thread count, any split of the rows over ranks and a resumed run draw the
// same numbers (as JAX's threefry keys and Philox do). The mixing is
// SplitMix64's finaliser. The one definition both the reference evaluation
// and the runtime kernel call.
#pragma once

#include <cstdint>

namespace graphc {

inline uint64_t counterMix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 24 random bits (every value exact in f32).
inline float counterUniform(uint32_t seed, uint32_t step, uint64_t stream, uint64_t element) {
  uint64_t key = counterMix64((uint64_t(seed) << 32) | step) ^ counterMix64(stream * 0x9e3779b97f4a7c15ull + 1);
  uint64_t z = counterMix64(key + element * 0x9e3779b97f4a7c15ull);
  return float(z >> 40) * (1.0f / 16777216.0f);
}

// random_uniform's element i of a [rows, cols] value whose first row is row
// `firstRow` of the whole batch: keyed by its place in the whole batch, so a
// rank that holds some rows draws what one process draws for them.
inline float randomUniformElement(const int32_t key[3], uint64_t stream, int64_t cols, int64_t i) {
  uint64_t element = uint64_t(key[2]) * uint64_t(cols) + uint64_t(i);
  return counterUniform(uint32_t(key[0]), uint32_t(key[1]), stream, element);
}

}  // namespace graphc
