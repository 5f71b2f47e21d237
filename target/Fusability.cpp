// target/Fusability.cpp — see Fusability.h.
#include "target/Fusability.h"

#include <algorithm>
#include <fmt/format.h>

namespace graphc {

std::optional<std::string> kernelMemberRefusal(const Graph& g, const Node& n, const Shape& kernelShape) {
  switch (opFusion(n.op)) {
    case FuseNever: return fmt::format("'{}' is not elementwise", opName(n.op));
    case FuseElementwise:
      if (n.type.shape != kernelShape)
        return fmt::format("its shape {} differs from the kernel's {}", str(n.type.shape), str(kernelShape));
      return std::nullopt;
    case FuseEdge: {
      if (n.op == OpKind::Slice) {
        // The loop reads the slice in place (a gate's columns of a product): row-major 2-d, the kernel's shape.
        if (n.type.rank() != 2 || g.type(n.operands[0]).rank() != 2 || n.type.shape != kernelShape)
          return std::string("only a 2-d slice of the kernel's shape is read in place");
        // A block of whole rows is a view already (plan): reading it in place
        // would only put its position into the kernel (one kernel per time step).
        if (n.type.shape[1] == g.type(n.operands[0]).shape[1])
          return std::string("a slice of whole rows is a view");
        return std::nullopt;
      }
      if (n.op != OpKind::Broadcast) return std::nullopt;  // a constant: a splat value
      std::string why;
      if (!classifyBroadcast(g.type(n.operands[0]).shape, n.type.shape, &why)) return why;
      return std::nullopt;
    }
    case FuseRowGather:
      // A kernel cannot report a bad index: it reads zeros instead, so only
      // a gather that means zeros may be fused; its indices are one per row.
      if (int64_t(attr::zeroOutOfRange(n.attrs)) == 0)
        return std::string("a gather that reports bad indices (no zero_out_of_range) runs on its own");
      if (g.type(n.operands[1]).rank() != 1 || n.type.rank() != 2 || n.type.shape != kernelShape)
        return std::string("only a row gather (1-d indices, 2-d rows of the kernel's shape) is fused");
      return std::nullopt;
  }
  return std::string("unknown fusion class");
}

const Node* columnConcatRoot(const Graph& body) {
  if (body.outputs.empty()) return nullptr;
  const Node& root = body.node(body.outputs[0].value);
  if (root.op != OpKind::Concat || root.type.rank() != 2) return nullptr;
  return attr::axis(root.attrs) == 1 || attr::axis(root.attrs) == -1 ? &root : nullptr;
}

std::vector<Shape> memberShapes(const Graph& body) {
  const Shape& kernel = body.type(body.outputs[0].value).shape;
  std::vector<Shape> shapes(body.size(), kernel);
  const Node* root = columnConcatRoot(body);
  if (!root) return shapes;
  // Walk each piece's cone from its value back; a node two pieces of
  // different shapes read gets an empty shape, which no member matches.
  std::vector<char> seen(body.size(), 0);
  for (ValueId piece : root->operands) {
    const Shape& shape = body.type(piece).shape;
    std::vector<ValueId> stack = {piece};
    std::vector<char> inCone(body.size(), 0);
    while (!stack.empty()) {
      ValueId v = stack.back();
      stack.pop_back();
      if (inCone[size_t(v)]) continue;
      inCone[size_t(v)] = 1;
      if (seen[size_t(v)] && shapes[size_t(v)] != shape) shapes[size_t(v)] = Shape{};
      else shapes[size_t(v)] = shape;
      seen[size_t(v)] = 1;
      for (ValueId o : body.node(v).operands) stack.push_back(o);
    }
  }
  return shapes;
}

namespace {

// The columns of one block a kernel writes per row: its pieces' when it is a
// concatenated kernel of equal pieces, else its own (0: unequal pieces).
int64_t memberColumns(const Node& member) {
  const Node* root = member.body ? columnConcatRoot(*member.body) : nullptr;
  if (!root) return member.type.shape[1];
  const int64_t piece = member.body->type(root->operands[0]).shape[1];
  for (ValueId o : root->operands)
    if (member.body->type(o).shape[1] != piece) return 0;
  return piece;
}

// Why body node `use` reads a chain value (a body input of `shape`: the
// product, or an earlier member when fromMember) other than where it writes,
// or nullopt. A member's values are handed on in registers (codegen runs the
// members in one loop over the chain's elements), so a later member takes them
// only elementwise; the product is in memory, and is also read through a
// slice that is one whole block. (A body whose result is an input itself, a
// copy, "uses" it where it writes it.)
std::optional<std::string> chainReadRefusal(const Node& use, const Shape& shape, int64_t width, bool fromMember) {
  if (use.op == OpKind::Slice && !fromMember) {
    const int64_t start = attr::start(use.attrs)[1];
    if (start % width != 0 || use.type.shape[1] != width)
      return fmt::format("its slice of columns [{}, {}) is not one block of {}", start, start + use.type.shape[1],
                         width);
    return std::nullopt;
  }
  if (shape[1] != width)
    return fmt::format("it reads a [{}, {}] value other than through a block slice", shape[0], shape[1]);
  if (use.op == OpKind::Gather || use.op == OpKind::Slice)
    return fmt::format("it reads {} through a {}", fromMember ? "an earlier member" : "the product", opName(use.op));
  if (use.op == OpKind::Broadcast && use.type.shape != shape)
    return fmt::format("it broadcasts {}", fromMember ? "an earlier member" : "the product");
  return std::nullopt;
}

}  // namespace

int64_t epilogueChainWidth(const Graph& g, ValueId product, const Node& member) {
  const Node& p = g.node(product);
  if (p.op != OpKind::PackedMatMul || p.type.rank() != 2 || member.op != OpKind::Fused || !member.body ||
      member.type.rank() != 2)
    return 0;
  const int64_t n = p.type.shape[1], panel = g.type(p.operands[1]).shape[2];
  const int64_t width = memberColumns(member);
  if (width <= 0 || n % width != 0 || (width != n && width % panel != 0)) return 0;
  return width;
}

std::optional<std::string> epilogueMemberRefusal(const Graph& g, ValueId product, const Node& member, int64_t width,
                                                 const std::vector<char>& chainValue) {
  const Node& p = g.node(product);
  if (member.op != OpKind::Fused || !member.body) return std::string("it is not a fused kernel");
  if (member.type.rank() != 2 || member.type.shape[0] != p.type.shape[0])
    return fmt::format("it is not a 2-d kernel over the product's {} rows", p.type.shape[0]);
  if (epilogueChainWidth(g, product, member) != width)
    return fmt::format("its {} columns (per piece) are not the chain's {}", memberColumns(member), width);
  const Graph& body = *member.body;
  const std::vector<int64_t> input = bodyInputIndex(body);
  bool readsChain = false;
  for (size_t k = 0; k < body.size(); ++k) {
    const Node& use = body.nodes[k];
    std::vector<ValueId> reads = use.operands;
    if (body.outputs[0].value == ValueId(k)) reads.push_back(ValueId(k));  // a copy of an input: read where it is written
    for (ValueId o : reads) {
      if (input[size_t(o)] < 0) continue;
      const ValueId value = member.operands[size_t(input[size_t(o)])];
      if (!chainValue[size_t(value)]) continue;
      readsChain = true;
      const bool fromMember = value != product;
      if (fromMember && g.node(value).body && columnConcatRoot(*g.node(value).body))
        return fmt::format("it reads %{}, a concatenated kernel of the chain", g.node(value).name);
      if (auto why = chainReadRefusal(use, body.type(o).shape, width, fromMember)) return why;
    }
  }
  if (!readsChain) return std::string("it reads neither the product nor an earlier member");
  return std::nullopt;
}

}  // namespace graphc
