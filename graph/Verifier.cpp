// graph/Verifier.cpp — structural and type checks over a whole graph.
#include "graph/Verifier.h"

#include <algorithm>
#include <map>
#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

#include "graph/Analysis.h"
#include "graph/ShapeInference.h"

namespace graphc {
namespace {

bool isValidName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  return true;
}

// "a b" -> "a, b, " (Op.def's space-separated names, for a message).
std::string commaList(std::string_view names) {
  std::string out;
  for (char c : names) out += c == ' ' ? std::string(", ") : std::string(1, c);
  return names.empty() ? out : out + ", ";
}

// Op.def declares which attributes a node may carry, Attrs.def their kinds.
template <typename Fail>
void verifyAttributes(const Node& n, Fail fail) {
  for (const auto& [key, value] : n.attrs) {
    if (!opTakesAttr(n.op, key))
      fail(fmt::format("'{}' takes no attribute '{}' (it takes: {}offset)", opName(n.op), escapeForMessage(key),
                       commaList(opAttrNames(n.op))));
    if (std::string want = attr::attrKindMismatch(key, value); !want.empty())
      fail(fmt::format("attribute '{}' must be {}", key, want));
  }
}

template <typename Fail>
void verifyFusedBody(const Graph& g, const Node& n, Fail fail) {
  if (!n.body) fail("'fused' needs a body");
  const Graph& body = *n.body;
  size_t inputs = 0;
  for (const Node& b : body.nodes) {
    verifyAttributes(b, [&](const std::string& msg) { fail(fmt::format("body %{}: {}", b.name, msg)); });
    if (b.op == OpKind::Input) {
      if (inputs >= n.operands.size()) fail(fmt::format("body has more inputs than the {} operands", n.operands.size()));
      if (b.type != g.type(n.operands[inputs]))
        fail(fmt::format("body input %{} is {}, but operand {} is {}", b.name, str(b.type), inputs,
                         str(g.type(n.operands[inputs]))));
      ++inputs;
    }
  }
  if (inputs != n.operands.size()) fail(fmt::format("body has {} inputs for {} operands", inputs, n.operands.size()));
  if (body.outputs.size() != 1 || body.outputs[0].name != "result" || !body.updates.empty())
    fail("a fused body has exactly one output, \"result\", and no updates");
  if (body.type(body.outputs[0].value) != n.type)
    fail(fmt::format("body result is {}, the node is {}", str(body.type(body.outputs[0].value)), str(n.type)));
  verify(body);
}

// Each planned buffer's bytes and the nodes between its birth and last use.
struct PlacedValue {
  int64_t begin, end;    // bytes [begin, end)
  int64_t born, dies;    // node indices, inclusive
  ValueId id;
};

// After `plan`: two values live at the same time share bytes only when they
// are parts of one buffer (below). A sweep over birth order against the values
// still alive.
void verifyPlan(const Graph& g) {
  const int64_t end = int64_t(g.size());
  // A packed product and its epilogue chain run as one call (graph/Analysis.h).
  const std::vector<RunSpan> spans = runSpans(g);
  std::vector<PlacedValue> values;
  for (size_t i = 0; i < g.size(); ++i) {
    const Node& n = g.nodes[i];
    auto it = n.attrs.find("offset");
    if (it == n.attrs.end() || n.type.numElements() == 0) continue;
    int64_t off = attr::offset(n.attrs);
    bool bound = isSignature(n.op);
    values.push_back({off, off + n.type.numElements() * 4, bound ? 0 : spans[i].first, bound ? end : spans[i].last,
                      ValueId(i)});
  }
  std::vector<int64_t> slot(g.size(), -1);
  for (size_t v = 0; v < values.size(); ++v) slot[size_t(values[v].id)] = int64_t(v);
  // Values may share bytes only when they are one buffer by construction
  // (passes/Plan.cpp's aliases): a slice or reshape inside its operand's
  // bytes (a view, which writes nothing, so views of one buffer may overlap each
  // other), an operand computed in place inside its concatenation (directly or
  // as the source of a reshape it concatenates), an all_reduce over its
  // operand's bytes, and an update computed in its target's bytes. root: the
  // buffer each value is part of (union-find).
  std::vector<ValueId> parent(g.size());
  for (size_t i = 0; i < g.size(); ++i) parent[i] = ValueId(i);
  auto find = [&](ValueId v) {
    while (parent[size_t(v)] != v) v = parent[size_t(v)] = parent[size_t(parent[size_t(v)])];
    return v;
  };
  auto inside = [&](ValueId inner, ValueId outer) {
    if (slot[size_t(inner)] < 0 || slot[size_t(outer)] < 0) return false;
    const PlacedValue& a = values[size_t(slot[size_t(inner)])];
    const PlacedValue& b = values[size_t(slot[size_t(outer)])];
    return a.begin >= b.begin && a.end <= b.end;
  };
  auto join = [&](ValueId a, ValueId b) { parent[size_t(find(a))] = find(b); };
  for (size_t i = 0; i < g.size(); ++i) {
    const Node& n = g.nodes[i];
    const ValueId self = ValueId(i);
    if ((n.op == OpKind::Slice || n.op == OpKind::Reshape || n.op == OpKind::AllReduce) && inside(self, n.operands[0]))
      join(self, n.operands[0]);
    if (n.op != OpKind::Concat) continue;
    for (ValueId o : n.operands) {
      if (inside(o, self)) join(o, self);
      const Node& part = g.node(o);
      if (part.op == OpKind::Reshape && inside(part.operands[0], self)) join(part.operands[0], self);
    }
  }
  // An elementwise kernel in the bytes of an update's target or of an operand
  // (passes/Plan.cpp): only when nothing reads those bytes after it starts
  // (mayWriteOver) and no slice or reshape of the operand could.
  const std::vector<int64_t> lastRead = lastReaders(g);
  std::vector<char> viewed(g.size(), 0);
  for (const Node& n : g.nodes)
    if (n.op == OpKind::Slice || n.op == OpKind::Reshape) viewed[size_t(n.operands[0])] = 1;
  auto sameBytes = [&](ValueId a, ValueId b) { return inside(a, b) && inside(b, a); };
  for (const auto& u : g.updates)
    if (sameBytes(u.value, u.target) && mayWriteOver(g, u.value, u.target, lastRead, spans)) join(u.value, u.target);
  for (size_t i = 0; i < g.size(); ++i)
    for (ValueId o : g.nodes[i].operands)
      if (!isSignature(g.node(o).op) && !viewed[size_t(o)] && sameBytes(ValueId(i), o) &&
          mayWriteOver(g, ValueId(i), o, lastRead, spans))
        join(ValueId(i), o);
  auto extend = [&](ValueId id, int64_t through) {
    if (slot[size_t(id)] >= 0) values[size_t(slot[size_t(id)])].dies = std::max(values[size_t(slot[size_t(id)])].dies, through);
  };
  // Operands are read until the end of the node's span (a chain's last member).
  for (size_t i = 0; i < g.size(); ++i)
    for (ValueId o : g.nodes[i].operands) extend(o, spans[i].last);
  for (const auto& o : g.outputs) extend(o.value, end);
  for (const auto& u : g.updates) extend(u.value, end);
  // A buffer (the values of one root) holds its bytes, from the lowest to the
  // highest any of its values uses, from its first value's birth to its last
  // value's death. Live buffers are disjoint, so each new one is checked
  // against its two neighbours by address among those live: n log n (the
  // pairwise sweep was quadratic in the time steps).
  std::vector<PlacedValue> buffers;  // .id: the member born first
  std::vector<int64_t> bufferOf(g.size(), -1);
  for (const PlacedValue& v : values) {
    ValueId r = find(v.id);
    if (bufferOf[size_t(r)] < 0) {
      bufferOf[size_t(r)] = int64_t(buffers.size());
      buffers.push_back(v);
      continue;
    }
    PlacedValue& b = buffers[size_t(bufferOf[size_t(r)])];
    b.begin = std::min(b.begin, v.begin);
    b.end = std::max(b.end, v.end);
    if (v.born < b.born) b.id = v.id;
    b.born = std::min(b.born, v.born);
    b.dies = std::max(b.dies, v.dies);
  }
  std::stable_sort(buffers.begin(), buffers.end(), [](const PlacedValue& a, const PlacedValue& b) { return a.born < b.born; });
  std::map<int64_t, size_t> live;  // begin -> buffer, disjoint
  std::multimap<int64_t, int64_t> deaths;  // dies -> begin
  for (size_t k = 0; k < buffers.size(); ++k) {
    const PlacedValue& x = buffers[k];
    while (!deaths.empty() && deaths.begin()->first < x.born) {
      live.erase(deaths.begin()->second);
      deaths.erase(deaths.begin());
    }
    auto next = live.lower_bound(x.begin);
    const PlacedValue* clash = nullptr;
    if (next != live.end() && buffers[next->second].begin < x.end) clash = &buffers[next->second];
    if (!clash && next != live.begin() && buffers[std::prev(next)->second].end > x.begin)
      clash = &buffers[std::prev(next)->second];
    if (clash) {
      const Node& n = g.node(x.id);
      throw Error(errorAt(g, n.loc, fmt::format("%{}: its bytes [{}, {}) overlap %{}'s [{}, {}) while both are live",
                                                n.name, x.begin, x.end, g.node(clash->id).name, clash->begin,
                                                clash->end)));
    }
    live.emplace(x.begin, k);
    deaths.emplace(x.dies, x.begin);
  }
}

// Invariants of the later phases, recorded by the passes that establish them:
// after `fuse` (graph attribute phase = "fused") no elementwise op stands
// outside a kernel; after `plan` (arena_bytes) no two live buffers overlap
// unless they are parts of one buffer. (What a kernel may hold is the code
// generator's rule: target/KernelRules.h.)
void verifyPhase(const Graph& g) {
  bool fused = attr::phase(g.attrs, "") == "fused";
  for (size_t i = 0; i < g.size(); ++i) {
    const Node& n = g.nodes[i];
    if (fused && opLowering(n.op) == LoweringKind::InKernel)
      throw Error(errorAt(g, n.loc, fmt::format("%{}: a bare '{}' after fuse (elementwise ops belong in kernels)",
                                                n.name, opName(n.op))));
  }
  if (g.attrs.count("arena_bytes")) verifyPlan(g);
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
    verifyAttributes(n, fail);
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
  verifyPhase(g);
}

}  // namespace graphc
