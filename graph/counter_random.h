/* graph/counter_random.h — the counter-based generator behind random_uniform
 * (dropout masks), in C so that the runtime kernels (kernels/kernels.c)
 * compile the same definition as graph/CounterRandom.h wraps for C++: a
 * value is a pure function of (seed, step, stream, element), never of a
 * stateful stream, so the interpreter, the JIT, any thread count, any split
 * of the rows over ranks and a resumed run draw the same numbers (as JAX's
 * threefry keys and Philox do). The mixing is SplitMix64's finaliser. */
#ifndef GRAPHC_GRAPH_COUNTER_RANDOM_H
#define GRAPHC_GRAPH_COUNTER_RANDOM_H

#include <stdint.h>

static inline uint64_t graphc_counter_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 24 random bits (every value exact in f32). */
static inline float graphc_counter_uniform(uint32_t seed, uint32_t step, uint64_t stream, uint64_t element) {
  uint64_t key = graphc_counter_mix64(((uint64_t)seed << 32) | step) ^
                 graphc_counter_mix64(stream * 0x9e3779b97f4a7c15ull + 1);
  uint64_t z = graphc_counter_mix64(key + element * 0x9e3779b97f4a7c15ull);
  return (float)(z >> 40) * (1.0f / 16777216.0f);
}

/* random_uniform's element i: key = (seed, step, the first row's place in the
 * whole batch), `cols` elements per row, so a row's values do not depend on
 * which rank or thread draws them. */
static inline float graphc_random_uniform_element(const int32_t key[3], uint64_t stream, int64_t cols, int64_t i) {
  uint64_t element = (uint64_t)key[2] * (uint64_t)cols + (uint64_t)i;
  return graphc_counter_uniform((uint32_t)key[0], (uint32_t)key[1], stream, element);
}

#endif
