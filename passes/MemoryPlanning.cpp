// passes/MemoryPlanning.cpp — best-fit reuse of freed blocks, in program order.
#include "passes/MemoryPlanning.h"

#include <algorithm>
#include <map>

namespace graphc {

int64_t bufferBytes(const TensorType& t) {
  int64_t bytes = t.numElements() * 4;
  return (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
}

std::vector<std::pair<int64_t, int64_t>> liveRanges(const Graph& g) {
  const int64_t end = int64_t(g.size());
  std::vector<std::pair<int64_t, int64_t>> ranges(g.size());
  for (size_t i = 0; i < g.size(); ++i) {
    OpKind op = g.nodes[i].op;
    bool leaf = op == OpKind::Input || op == OpKind::Param || op == OpKind::State;
    // Leaves hold their whole run: the executor copies them in before it and
    // may keep resident ones (params during generation) across runs.
    ranges[i] = {leaf ? 0 : int64_t(i), leaf ? end : int64_t(i)};
  }
  for (size_t i = 0; i < g.size(); ++i) {
    // Codegen may run the node after a packed product as the product's
    // epilogue, on one thread's columns while another thread still reads the
    // product's operands: they must outlive that node too.
    int64_t through = g.nodes[i].op == OpKind::PackedMatMul ? std::min(int64_t(i) + 1, end - 1) : int64_t(i);
    for (ValueId o : g.nodes[i].operands) ranges[size_t(o)].second = std::max(ranges[size_t(o)].second, through);
  }
  for (const auto& o : g.outputs) ranges[size_t(o.value)].second = end;
  for (const auto& u : g.updates) ranges[size_t(u.value)].second = end;
  return ranges;
}

bool planMemory(Graph& g) {
  auto ranges = liveRanges(g);
  std::map<int64_t, int64_t> freeBlocks;  // offset -> size, coalesced
  std::multimap<int64_t, size_t> releaseAt;  // last use -> value
  int64_t top = 0;
  std::vector<int64_t> offset(g.size(), 0);

  auto release = [&](int64_t off, int64_t size) {
    auto [it, _] = freeBlocks.emplace(off, size);
    auto next = std::next(it);
    if (next != freeBlocks.end() && it->first + it->second == next->first) {
      it->second += next->second;
      freeBlocks.erase(next);
    }
    if (it != freeBlocks.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        freeBlocks.erase(it);
      }
    }
  };
  auto allocate = [&](int64_t size) {
    auto best = freeBlocks.end();
    for (auto it = freeBlocks.begin(); it != freeBlocks.end(); ++it)
      if (it->second >= size && (best == freeBlocks.end() || it->second < best->second)) best = it;
    if (best == freeBlocks.end()) {
      int64_t off = top;
      top += size;
      return off;
    }
    int64_t off = best->first, remaining = best->second - size;
    freeBlocks.erase(best);
    if (remaining > 0) freeBlocks.emplace(off + size, remaining);
    return off;
  };

  // Values in order of their first live index (leaves first, at 0).
  std::vector<size_t> order(g.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a].first < ranges[b].first; });
  for (size_t v : order) {
    int64_t start = ranges[v].first;
    // Free what died before this value is born: its inputs stay live through it.
    while (!releaseAt.empty() && releaseAt.begin()->first < start) {
      size_t dead = releaseAt.begin()->second;
      releaseAt.erase(releaseAt.begin());
      release(offset[dead], bufferBytes(g.nodes[dead].type));
    }
    int64_t size = bufferBytes(g.nodes[v].type);
    offset[v] = size > 0 ? allocate(size) : 0;
    if (size > 0) releaseAt.emplace(ranges[v].second, v);
  }
  for (size_t i = 0; i < g.size(); ++i) g.nodes[i].attrs["offset"] = offset[i];
  g.attrs["arena_bytes"] = top;
  return true;
}

}  // namespace graphc
