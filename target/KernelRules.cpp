// target/KernelRules.cpp — see KernelRules.h.
#include "target/KernelRules.h"

#include <fmt/format.h>

#include "graph/Attr.h"
#include "graph/Error.h"
#include "target/Fusability.h"

namespace graphc {
namespace {

// Why a fused body member cannot be computed by a kernel over `shape`, or "".
std::string memberRefusal(const Graph& body, const Node& b, const Shape& shape) {
  // Broadcasts, slices and gathers are indexed from memory by the loop: their
  // operands are body inputs (or, for a broadcast, a constant the kernel splats).
  if (b.op == OpKind::Broadcast || b.op == OpKind::Slice || b.op == OpKind::Gather)
    for (ValueId o : b.operands) {
      OpKind k = body.node(o).op;
      if (k != OpKind::Input && !(b.op == OpKind::Broadcast && k == OpKind::Constant))
        return fmt::format("a fused {} reads body inputs, not %{}", opName(b.op), body.node(o).name);
    }
  if (auto why = kernelMemberRefusal(body, b, shape)) return fmt::format("%{} cannot be in a fused body: {}", b.name, *why);
  return "";
}

}  // namespace

void verifyKernelRules(const Graph& g) {
  std::vector<int> uses;
  for (size_t i = 0; i < g.size(); ++i) {
    const Node& n = g.nodes[i];
    auto fail = [&](const std::string& msg) { throw Error(errorAt(g, n.loc, fmt::format("%{}: {}", n.name, msg))); };
    if (n.op == OpKind::Fused && n.body) {
      const Node* root = columnConcatRoot(*n.body);
      const std::vector<Shape> shapes = memberShapes(*n.body);
      for (size_t k = 0; k < n.body->size(); ++k) {
        const Node& b = n.body->nodes[k];
        if (b.op == OpKind::Input || &b == root) continue;
        if (std::string why = memberRefusal(*n.body, b, shapes[k]); !why.empty()) fail(why);
      }
    }
    if (attr::epilogue(n.attrs)) {
      if (uses.empty()) uses = g.useCounts();
      if (i == 0 || !isEpiloguePair(g, ValueId(i - 1), uses))
        fail("marked epilogue, but it is not the one fused reader of a packed product right before it, over its shape");
    }
  }
}

}  // namespace graphc
