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
  std::vector<char> chainValue;  // the current epilogue chain's product and members
  ValueId product = ValueId(-1);
  int64_t width = 0;
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
    if (!attr::epilogue(n.attrs)) continue;
    // A chain: the marked nodes right after a packed product (target/Fusability.h).
    if (i == 0 || !attr::epilogue(g.nodes[i - 1].attrs)) {
      if (i == 0 || g.nodes[i - 1].op != OpKind::PackedMatMul)
        fail("marked epilogue, but no packed product or epilogue comes right before it");
      product = ValueId(int64_t(i) - 1);
      width = epilogueChainWidth(g, product, n);
      if (width == 0)
        fail(fmt::format("marked epilogue, but its columns do not divide the product's {} into blocks of whole panels",
                         g.node(product).type.shape[1]));
      chainValue.assign(g.size(), 0);
      chainValue[size_t(product)] = 1;
    }
    if (auto why = epilogueMemberRefusal(g, product, n, width, chainValue))
      fail(fmt::format("marked epilogue of %{}, but {}", g.node(product).name, *why));
    chainValue[i] = 1;
  }
}

}  // namespace graphc
