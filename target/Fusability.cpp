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

bool isEpiloguePair(const Graph& g, ValueId product, const std::vector<int>& uses) {
  const Node& p = g.node(product);
  if (p.op != OpKind::PackedMatMul || uses[size_t(product)] != 1 || size_t(product) + 1 >= g.size()) return false;
  const Node& next = g.nodes[size_t(product) + 1];
  return next.op == OpKind::Fused && next.type.shape == p.type.shape && next.type.rank() == 2 &&
         std::find(next.operands.begin(), next.operands.end(), product) != next.operands.end();
}

}  // namespace graphc
