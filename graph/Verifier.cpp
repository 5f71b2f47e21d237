// graph/Verifier.cpp — structural and type checks over a whole graph.
#include "graph/Verifier.h"

#include "graph/Fusability.h"

#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

#include "graph/ShapeInference.h"

namespace graphc {
namespace {

bool isValidName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  return true;
}

template <typename Fail>
void verifyFusedBody(const Graph& g, const Node& n, Fail fail) {
  if (!n.body) fail("'fused' needs a body");
  const Graph& body = *n.body;
  size_t inputs = 0;
  for (const Node& b : body.nodes) {
    if (b.op == OpKind::Input) {
      if (b.name != "arg" + std::to_string(inputs)) fail(fmt::format("body input %{} should be %arg{}", b.name, inputs));
      if (inputs >= n.operands.size()) fail(fmt::format("body has more inputs than the {} operands", n.operands.size()));
      if (b.type != g.type(n.operands[inputs]))
        fail(fmt::format("body input %{} is {}, but operand {} is {}", b.name, str(b.type), inputs,
                         str(g.type(n.operands[inputs]))));
      ++inputs;
    } else {
      // Broadcasts and gathers are indexed from memory by the loop: their operands are body inputs
      // (or, for a broadcast, a constant the kernel splats).
      if (b.op == OpKind::Broadcast || b.op == OpKind::Gather)
        for (ValueId o : b.operands) {
          OpKind k = body.node(o).op;
          if (k != OpKind::Input && !(b.op == OpKind::Broadcast && k == OpKind::Constant))
            fail(fmt::format("a fused {} reads body inputs, not %{}", opName(b.op), body.node(o).name));
        }
      if (auto why = kernelMemberRefusal(body, b, n.type.shape))
        fail(fmt::format("%{} cannot be in a fused body: {}", b.name, *why));
    }
  }
  if (inputs != n.operands.size()) fail(fmt::format("body has {} inputs for {} operands", inputs, n.operands.size()));
  if (body.outputs.size() != 1 || body.outputs[0].name != "result" || !body.updates.empty())
    fail("a fused body has exactly one output, \"result\", and no updates");
  if (body.type(body.outputs[0].value) != n.type)
    fail(fmt::format("body result is {}, the node is {}", str(body.type(body.outputs[0].value)), str(n.type)));
  verify(body);
}

}  // namespace

void verify(const Graph& g) {
  std::unordered_map<std::string, ValueId> names;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    auto fail = [&](const std::string& msg) { throw Error(errorAt(g, n.loc, fmt::format("%{}: {}", n.name, msg))); };
    if (!isValidName(n.name)) fail("invalid value name");
    auto [it, fresh] = names.emplace(n.name, ValueId(i));
    if (!fresh) fail("duplicate value name");
    int arity = opArity(n.op);
    if (arity >= 0 && int(n.operands.size()) != arity)
      fail(fmt::format("'{}' takes {} operand{}, got {}", opName(n.op), arity, arity == 1 ? "" : "s", n.operands.size()));
    if (arity < 0 && n.operands.empty()) fail(fmt::format("'{}' needs at least one operand", opName(n.op)));
    std::vector<TensorType> in;
    for (ValueId o : n.operands) {
      if (o < 0 || size_t(o) >= i) fail("operand is not defined before its use");
      in.push_back(g.nodes[size_t(o)].type);
    }
    TensorType inferred;
    try {
      inferred = inferType(n.op, in, n.attrs, n.type);
    } catch (const Error& e) {
      fail(e.what());
    }
    if (inferred != n.type)
      fail(fmt::format("declared type {} but '{}' gives {}", str(n.type), opName(n.op), str(inferred)));
    if (n.op == OpKind::Fused) verifyFusedBody(g, n, fail);
    else if (n.body) fail(fmt::format("'{}' cannot have a body", opName(n.op)));
  }
  std::unordered_set<std::string> outputNames;
  for (const auto& o : g.outputs) {
    auto fail = [&](const std::string& msg) { throw Error(errorAt(g, o.loc, msg)); };
    if (o.value < 0 || size_t(o.value) >= g.nodes.size()) fail(fmt::format("output \"{}\" names no value", o.name));
    if (!outputNames.insert(o.name).second) fail(fmt::format("duplicate output \"{}\"", o.name));
  }
  std::unordered_set<ValueId> targets;
  for (const auto& u : g.updates) {
    auto fail = [&](const std::string& msg) { throw Error(errorAt(g, u.loc, msg)); };
    if (u.target < 0 || size_t(u.target) >= g.nodes.size() || u.value < 0 || size_t(u.value) >= g.nodes.size())
      fail("update names no value");
    const Node& t = g.node(u.target);
    if (t.op != OpKind::Param && t.op != OpKind::State)
      fail(fmt::format("update target %{} is a '{}', not a param or state", t.name, opName(t.op)));
    if (!targets.insert(u.target).second) fail(fmt::format("%{} is updated twice", t.name));
    if (g.type(u.value) != t.type)
      fail(fmt::format("update of %{} : {} with %{} : {}", t.name, str(t.type), g.node(u.value).name,
                       str(g.type(u.value))));
  }
}

}  // namespace graphc
