// passes/Plan.h — liveness-based buffer assignment in one arena.
#pragma once

#include <cstdint>

#include "graph/Graph.h"

namespace graphc {

constexpr int64_t kBufferAlignment = 64;

// Byte size of a value's buffer (elements * 4, rounded up to the alignment).
int64_t bufferBytes(const TensorType& t);

// Gives every value a byte offset in one arena (node attribute "offset") so
// that values live at the same time never overlap unless one aliases the
// other (planAliases: codegen then skips the copy); a buffer is reused once
// its last reader has run. Leaves live through the whole run (the executor
// copies them in first, and may keep them between runs); outputs and update
// values live to the end. Sets the graph
// attribute "arena_bytes" to the peak. Returns true (it always annotates).
bool planMemory(Graph& g);

// Where a value's bytes are: `delta` bytes into the buffer of `root`. A
// contiguous slice or a reshape is a view of its operand (not of a leaf); a
// concatenation along its outermost non-unit axis hosts its operands, which
// are then computed in place; an update's value computed elementwise after the
// last read of its target is computed in the target's bytes (the step updates
// params and state in place), and so is an elementwise kernel in the bytes of
// an operand it reads last (mayWriteOver, graph/Analysis.h; unless
// operandsInPlace is false: planMemory places both and keeps the smaller
// arena). Other values are their own root.
struct BufferAlias {
  ValueId root;
  int64_t delta;
};
std::vector<BufferAlias> planAliases(const Graph& g, bool operandsInPlace = true);

// Offsets for one set of aliases (offset[v] for each root v), best fit in
// program order; returns the arena's size. planMemory's placement.
int64_t placeBuffers(const Graph& g, const std::vector<BufferAlias>& alias, std::vector<int64_t>& offset);

// [first, last] node indices during which each value's buffer must hold it.
std::vector<std::pair<int64_t, int64_t>> liveRanges(const Graph& g);

}  // namespace graphc
