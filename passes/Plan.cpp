// passes/Plan.cpp — best-fit reuse of freed blocks, in program order.
#include "passes/Plan.h"

#include <algorithm>
#include <map>
#include <optional>

#include "graph/Analysis.h"

namespace graphc {

int64_t bufferBytes(const TensorType& t) {
  int64_t bytes = t.numElements() * 4;
  return (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
}

std::vector<std::pair<int64_t, int64_t>> liveRanges(const Graph& g) {
  const int64_t end = int64_t(g.size());
  // A packed product and its epilogue chain run as one call (graph/Analysis.h):
  // codegen runs the chain inside the product, on one thread's columns while
  // another thread still reads the product's operands, and each member on a
  // unit's columns before the members before it reach the next unit. So what
  // any of them reads lives to the chain's end, and what any of them writes
  // is live from the product on.
  const std::vector<RunSpan> spans = runSpans(g);
  std::vector<std::pair<int64_t, int64_t>> ranges(g.size());
  for (size_t i = 0; i < g.size(); ++i) {
    bool leaf = isSignature(g.nodes[i].op);
    // Leaves hold their whole run: the executor copies them in before it and
    // may keep resident ones (params during generation) across runs.
    ranges[i] = {leaf ? 0 : spans[i].first, leaf ? end : spans[i].last};
  }
  for (size_t i = 0; i < g.size(); ++i)
    for (ValueId o : g.nodes[i].operands) ranges[size_t(o)].second = std::max(ranges[size_t(o)].second, spans[i].last);
  for (const auto& o : g.outputs) ranges[size_t(o.value)].second = end;
  for (const auto& u : g.updates) ranges[size_t(u.value)].second = end;
  return ranges;
}

namespace {

// Byte offset of a slice's first element in its operand, when the slice is
// one contiguous run of it (a range of leading rows, whole trailing dims).
std::optional<int64_t> contiguousSliceOffset(const Graph& g, const Node& n) {
  const Shape& in = g.type(n.operands[0]).shape;
  const auto& start = attr::start(n.attrs);
  const auto& limit = attr::limit(n.attrs);
  size_t d = 0;
  while (d < in.size() && limit[d] - start[d] == 1) ++d;  // single indices first
  if (d < in.size()) ++d;                                  // then one partial dimension
  for (size_t e = d; e < in.size(); ++e)
    if (start[e] != 0 || limit[e] != in[e]) return std::nullopt;  // the rest whole
  int64_t linear = 0, stride = 1;
  for (size_t e = in.size(); e-- > 0;) {
    linear += start[e] * stride;
    stride *= in[e];
  }
  return linear * 4;
}

}  // namespace

std::vector<BufferAlias> planAliases(const Graph& g, bool operandsInPlace) {
  std::vector<BufferAlias> parent(g.size());
  for (size_t i = 0; i < g.size(); ++i) parent[i] = {ValueId(i), 0};
  std::vector<char> isView(g.size(), 0), hosted(g.size(), 0), isHost(g.size(), 0);
  const std::vector<int> uses = g.useCounts();
  for (size_t i = 0; i < g.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op == OpKind::Reshape || n.op == OpKind::Slice) {
      // Views: the value is bytes of its operand. Never of a leaf: the executor
      // rewrites leaves with the updates after a run, and outputs are read then.
      ValueId src = n.operands[0];
      std::optional<int64_t> delta = n.op == OpKind::Reshape ? std::optional<int64_t>(0) : contiguousSliceOffset(g, n);
      if (delta && !isSignature(g.node(src).op)) {
        parent[i] = {src, *delta};
        isView[i] = 1;
      }
    } else if (n.op == OpKind::AllReduce) {
      // In place (MPI_IN_PLACE): the sum overwrites its operand's bytes when
      // nothing else reads them; the step's 1.17 MB of gradients are not copied.
      ValueId src = n.operands[0];
      if (uses[size_t(src)] == 1 && !isSignature(g.node(src).op) && !isView[size_t(src)] && !hosted[size_t(src)])
        parent[i] = {src, 0};
    } else if (n.op == OpKind::Concat) {
      // In place: operands are computed straight into their block of the
      // concatenation, when the blocks are contiguous (nothing but 1s before the axis).
      int64_t axis = attr::axis(n.attrs);
      if (axis < 0) axis += n.type.rank();
      int64_t before = 1;
      for (int64_t d = 0; d < axis; ++d) before *= n.type.shape[size_t(d)];
      if (before != 1) continue;
      int64_t position = 0;
      for (size_t k = 0; k < n.operands.size(); ++k) {
        ValueId o = n.operands[k];
        bool repeated = std::find(n.operands.begin(), n.operands.begin() + long(k), o) != n.operands.begin() + long(k);
        // A reshape is the same bytes as its operand: host the operand (each
        // step's token column, copied out of X, straight into the sequence of
        // all of them that the embedding gradient reads).
        if (!repeated && g.nodes[size_t(o)].op == OpKind::Reshape && isView[size_t(o)] &&
            parent[size_t(o)].delta == 0) {
          ValueId src = parent[size_t(o)].root;
          bool sole = std::count(n.operands.begin(), n.operands.end(), o) == 1;
          if (sole && !isSignature(g.node(src).op) && !isView[size_t(src)] && !hosted[size_t(src)] && !isHost[size_t(src)]) {
            parent[size_t(src)] = {ValueId(i), position};
            hosted[size_t(src)] = 1;
            isHost[i] = 1;
            position += g.type(o).numElements() * 4;
            continue;
          }
        }
        if (!isSignature(g.node(o).op) && !isView[size_t(o)] && !hosted[size_t(o)] && !isHost[size_t(o)] && !repeated) {
          parent[size_t(o)] = {ValueId(i), position};
          hosted[size_t(o)] = 1;
          isHost[i] = 1;
        }
        position += g.type(o).numElements() * 4;
      }
    }
  }
  const std::vector<int64_t> lastRead = lastReaders(g);
  const std::vector<RunSpan> spans = runSpans(g);
  auto ownBuffer = [&](size_t v) { return parent[v].root == ValueId(v) && !isView[v] && !hosted[v] && !isHost[v]; };
  // An update's value computed elementwise after the last read of its target
  // is computed in the target's bytes: the step updates its params and state
  // in place, no second copy of them in the arena, no copy after the run.
  // (SGD's update is the epilogue of its gradient's product.)
  for (const auto& u : g.updates) {
    size_t v = size_t(u.value);
    if (ownBuffer(v) && mayWriteOver(g, u.value, u.target, lastRead, spans)) parent[v] = {u.target, 0};
  }
  // An elementwise kernel is computed in the bytes of an operand it reads last
  // (XLA's buffer sharing with a user): a word model's embedding gradient, the
  // lookup's scatter plus the output layer's, is summed over the first
  // addend, not into a third 35 MiB buffer. Only an operand that is its own
  // buffer, or such a kernel's in turn, and of which no slice or reshape reads
  // the bytes later.
  std::vector<char> viewed(g.size(), 0), inPlace(g.size(), 0);
  for (const Node& n : g.nodes)
    if (n.op == OpKind::Slice || n.op == OpKind::Reshape) viewed[size_t(n.operands[0])] = 1;
  for (size_t v = 0; v < g.size() && operandsInPlace; ++v) {
    const Node& n = g.nodes[v];
    if (n.op != OpKind::Fused || !ownBuffer(v)) continue;  // an update's value in its target is not its own
    for (ValueId o : n.operands) {
      bool root = inPlace[size_t(o)] || ownBuffer(size_t(o));
      if (root && !isSignature(g.node(o).op) && !viewed[size_t(o)] && mayWriteOver(g, ValueId(v), o, lastRead, spans)) {
        parent[v] = {o, 0};
        inPlace[v] = 1;
        break;
      }
    }
  }
  // Resolve chains (a view of an operand hosted by a later concat) to roots.
  std::vector<BufferAlias> root(g.size());
  for (size_t i = 0; i < g.size(); ++i) {
    BufferAlias a = {ValueId(i), 0};
    while (parent[size_t(a.root)].root != a.root) {
      a.delta += parent[size_t(a.root)].delta;
      a.root = parent[size_t(a.root)].root;
    }
    root[i] = a;
  }
  return root;
}

int64_t placeBuffers(const Graph& g, const std::vector<BufferAlias>& alias, std::vector<int64_t>& offset) {
  auto ranges = liveRanges(g);
  // A buffer holds every value that aliases it: it lives from the first one's
  // birth to the last one's last use.
  for (size_t i = 0; i < g.size(); ++i) {
    auto& r = ranges[size_t(alias[i].root)];
    r.first = std::min(r.first, ranges[i].first);
    r.second = std::max(r.second, ranges[i].second);
  }
  // offset -> (size, when it was last freed), coalesced. Among the best fits
  // the most recently freed block wins: in the steady state of the unrolled
  // steps, step t+1's temporary then takes the block step t's just gave back,
  // so per-step buffers sit at offsets that advance by a fixed stride and the
  // entry's calls re-roll into loops (codegen/CallSequence.h).
  struct FreeBlock {
    int64_t size, freedAt;
  };
  std::map<int64_t, FreeBlock> freeBlocks;
  int64_t releases = 0;
  std::multimap<int64_t, size_t> releaseAt;  // last use -> value
  int64_t top = 0;
  offset.assign(g.size(), 0);

  auto release = [&](int64_t off, int64_t size) {
    auto [it, _] = freeBlocks.emplace(off, FreeBlock{size, ++releases});
    auto next = std::next(it);
    if (next != freeBlocks.end() && it->first + it->second.size == next->first) {
      it->second.size += next->second.size;
      freeBlocks.erase(next);
    }
    if (it != freeBlocks.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second.size == it->first) {
        prev->second.size += it->second.size;
        prev->second.freedAt = releases;
        freeBlocks.erase(it);
      }
    }
  };
  auto allocate = [&](int64_t size) {
    auto best = freeBlocks.end();
    for (auto it = freeBlocks.begin(); it != freeBlocks.end(); ++it) {
      if (it->second.size < size) continue;
      if (best == freeBlocks.end() || it->second.size < best->second.size ||
          (it->second.size == best->second.size && it->second.freedAt > best->second.freedAt))
        best = it;
    }
    if (best == freeBlocks.end()) {
      int64_t off = top;
      top += size;
      return off;
    }
    int64_t off = best->first, remaining = best->second.size - size;
    int64_t freedAt = best->second.freedAt;
    freeBlocks.erase(best);
    if (remaining > 0) freeBlocks.emplace(off + size, FreeBlock{remaining, freedAt});
    return off;
  };

  // Values in order of their first live index (leaves first, at 0).
  std::vector<size_t> order(g.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a].first < ranges[b].first; });
  for (size_t v : order) {
    if (alias[v].root != ValueId(v)) continue;  // placed with its root, below
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
  return top;
}

bool planMemory(Graph& g) {
  // Computing kernels over operands they read last never adds live bytes, but
  // best fit around the longer buffers it makes can fragment the arena more:
  // the lstm module's grew 6% with it at the same live peak, while the Brown
  // LSTM's fell by 35 MiB. Both are placed and the smaller arena is kept.
  std::vector<BufferAlias> alias = planAliases(g, true), plain = planAliases(g, false);
  std::vector<int64_t> offset, plainOffset;
  int64_t top = placeBuffers(g, alias, offset), plainTop = placeBuffers(g, plain, plainOffset);
  if (plainTop < top) alias.swap(plain), offset.swap(plainOffset), top = plainTop;
  for (size_t i = 0; i < g.size(); ++i) g.nodes[i].attrs[attr::key::offset] = offset[size_t(alias[i].root)] + alias[i].delta;
  g.attrs[attr::key::arenaBytes] = top;
  return true;
}

}  // namespace graphc
