// passes/MemoryPlanning.h — liveness-based buffer assignment in one arena.
#pragma once

#include <cstdint>

#include "graph/Graph.h"

namespace graphc {

constexpr int64_t kBufferAlignment = 64;

// Byte size of a value's buffer (elements * 4, rounded up to the alignment).
int64_t bufferBytes(const TensorType& t);

// Gives every value a byte offset in one arena (node attribute "offset") so
// that values live at the same time never overlap; a buffer is reused once
// its last reader has run. Leaves live through the whole run (the executor
// copies them in first, and may keep them between runs); outputs and update
// values live to the end. Sets the graph
// attribute "arena_bytes" to the peak. Returns true (it always annotates).
bool planMemory(Graph& g);

// [first, last] node indices during which each value's buffer must hold it.
std::vector<std::pair<int64_t, int64_t>> liveRanges(const Graph& g);

}  // namespace graphc
