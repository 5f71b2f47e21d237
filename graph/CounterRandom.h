// graph/CounterRandom.h — C++ names for the counter-based generator behind
// random_uniform (dropout masks), defined once in C in graph/counter_random.h
// so the portable runtime draws the same numbers: a value is a pure function
// of (seed, step, stream, element). The one definition both the reference
// evaluation and the runtime kernels call.
#pragma once

#include <cstdint>

#include "graph/counter_random.h"

namespace graphc {

inline uint64_t counterMix64(uint64_t z) { return graphc_counter_mix64(z); }

// random_uniform's element i of a [rows, cols] value whose first row is row
// key[2] of the whole batch: keyed by its place in the whole batch, so a rank
// that holds some rows draws what one process draws for them.
inline float randomUniformElement(const int32_t key[3], uint64_t stream, int64_t cols, int64_t i) {
  return graphc_random_uniform_element(key, stream, cols, i);
}

}  // namespace graphc
