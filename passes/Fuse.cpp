// passes/Fuse.cpp — producer/consumer fusion of elementwise ops.
#include "passes/Fuse.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "target/Fusability.h"
#include "target/KernelShape.h"
#include "passes/Passes.h"

namespace graphc {
namespace {

std::vector<std::vector<ValueId>> userLists(const Graph& g) {
  std::vector<std::vector<ValueId>> users(g.size());
  for (size_t i = 0; i < g.size(); ++i)
    for (ValueId o : g.nodes[i].operands) users[size_t(o)].push_back(ValueId(i));
  for (const auto& o : g.outputs) users[size_t(o.value)].push_back(-1);
  for (const auto& u : g.updates) users[size_t(u.value)].push_back(-1);
  return users;
}

// Builds the body graph of a kernel from its members (ascending indices).
std::shared_ptr<Graph> buildBody(const Graph& g, const std::vector<ValueId>& members, std::vector<ValueId>& operands) {
  auto body = std::make_shared<Graph>();
  std::map<ValueId, ValueId> local;  // outer id -> body id
  std::vector<bool> isMember(g.size(), false);
  for (ValueId m : members) isMember[size_t(m)] = true;
  // Inputs first, in order of first use.
  for (ValueId m : members)
    for (ValueId o : g.node(m).operands)
      if (!isMember[size_t(o)] && !local.count(o)) {
        Node in;
        in.op = OpKind::Input;
        in.name = "arg" + std::to_string(operands.size());
        in.type = g.type(o);
        local[o] = body->add(std::move(in));
        operands.push_back(o);
      }
  int64_t counter = 0;
  for (ValueId m : members) {
    const Node& src = g.node(m);
    Node n;
    n.op = src.op;
    n.name = std::to_string(counter++);
    n.attrs = src.attrs;
    n.type = src.type;
    for (ValueId o : src.operands) n.operands.push_back(local.at(o));
    local[m] = body->add(std::move(n));
  }
  body->outputs.push_back({"result", local.at(members.back()), {}});
  return body;
}

// A column concatenation of kernels, each read by nothing else, becomes one
// concatenated kernel (target/Fusability.h): each piece's body, inputs shared,
// under one concat, so the pieces write their columns of the result and the
// concatenation's copy is gone (an LSTM's four gate gradients, every step).
bool fuseColumnConcats(Graph& g) {
  const std::vector<int> uses = g.useCounts();
  bool changed = false;
  for (size_t i = 0; i < g.size(); ++i) {
    const Node& c = g.nodes[i];
    if (c.op != OpKind::Concat || c.type.rank() != 2 || (attr::axis(c.attrs) != 1 && attr::axis(c.attrs) != -1) ||
        c.operands.size() < 2)
      continue;
    bool kernels = true;
    for (ValueId o : c.operands) {
      const Node& k = g.node(o);
      kernels &= k.op == OpKind::Fused && k.body && uses[size_t(o)] == 1 && k.type.rank() == 2 &&
                 !columnConcatRoot(*k.body);
    }
    if (!kernels) continue;
    auto body = std::make_shared<Graph>();
    std::map<ValueId, ValueId> inputOf;  // outer value -> body input
    std::vector<ValueId> operands, pieces;
    int64_t counter = 0;
    for (ValueId o : c.operands) {
      const Node& k = g.node(o);
      std::vector<ValueId> local(k.body->size(), -1);
      size_t arg = 0;
      for (size_t j = 0; j < k.body->size(); ++j) {
        const Node& n = k.body->nodes[j];
        if (n.op == OpKind::Input) {
          ValueId outer = k.operands[arg++];
          auto it = inputOf.find(outer);
          if (it == inputOf.end()) {
            Node in;
            in.op = OpKind::Input;
            in.name = "arg" + std::to_string(operands.size());
            in.type = n.type;
            it = inputOf.emplace(outer, body->add(std::move(in))).first;
            operands.push_back(outer);
          }
          local[j] = it->second;
          continue;
        }
        Node m = n;
        m.name = std::to_string(counter++);
        for (ValueId& x : m.operands) x = local[size_t(x)];
        local[j] = body->add(std::move(m));
      }
      pieces.push_back(local[size_t(k.body->outputs[0].value)]);
    }
    Node root;
    root.op = OpKind::Concat;
    root.name = std::to_string(counter);
    root.attrs = c.attrs;
    root.type = c.type;
    root.operands = pieces;
    body->outputs.push_back({"result", body->add(std::move(root)), {}});
    body->name = "body";
    Node fused;
    fused.op = OpKind::Fused;
    fused.name = c.name;
    fused.type = c.type;
    fused.group = c.group;
    fused.loc = c.loc;
    fused.operands = std::move(operands);
    fused.body = std::move(body);
    g.nodes[i] = std::move(fused);
    changed = true;
  }
  return changed;
}

}  // namespace

std::optional<std::string> fusionRefusal(const Graph& g, ValueId producer, ValueId root, const Shape& shape,
                                         const std::vector<bool>& inGroup, const std::vector<std::vector<ValueId>>& users,
                                         size_t groupSize, const FusionOptions& options) {
  const Node& p = g.node(producer);
  if (groupSize >= options.maxOpsPerKernel) return fmt::format("the kernel already has {} ops", groupSize);
  if (p.op == OpKind::Constant) return std::nullopt;  // copied into each kernel that reads it
  if (isSignature(p.op) || p.op == OpKind::Fused) return fmt::format("'{}' is read from memory", opName(p.op));
  if (p.type.shape != shape) return fmt::format("its shape {} differs from the kernel's {}", str(p.type.shape), str(shape));
  // The one rule the verifier and codegen also use (target/Fusability.h).
  if (auto why = kernelMemberRefusal(g, p, shape)) return why;
  // Indexing a broadcast's smaller operand, or a slice's larger one, is free,
  // so each kernel takes its own copy of either, whoever else reads it.
  if (p.op == OpKind::Broadcast || p.op == OpKind::Slice) return std::nullopt;
  for (ValueId u : users[size_t(producer)])
    if (u < 0 || !inGroup[size_t(u)])
      return u < 0 ? std::string("it is a graph output") : fmt::format("it is also used by %{}", g.node(u).name);
  for (ValueId x : p.operands) {
    if (inGroup[size_t(x)] || g.node(x).op == OpKind::Constant) continue;
    ValueId lastUse = 0;
    for (ValueId u : users[size_t(x)]) lastUse = u < 0 ? ValueId(g.size()) : std::max(lastUse, u);
    if (root - lastUse > options.maxLiveRangeExtension)
      return fmt::format("it would keep %{} alive {} nodes longer", g.node(x).name, root - lastUse);
  }
  return std::nullopt;
}

bool fuseElementwise(Graph& g, const FusionOptions& options, std::vector<std::string>* refusals) {
  auto users = userLists(g);
  std::vector<bool> assigned(g.size(), false), inGroup(g.size(), false);
  bool changed = false;
  for (size_t r = g.size(); r-- > 0;) {
    const Node& root = g.nodes[r];
    if (assigned[r] || !hasTrait(root.op, kElementwise)) continue;
    const Shape shape = root.type.shape;
    std::vector<ValueId> members = {ValueId(r)};
    inGroup[r] = assigned[r] = true;
    // Absorb producers until nothing more qualifies; members only grow.
    for (size_t k = 0; k < members.size(); ++k) {
      const Node& m = g.node(members[k]);
      for (ValueId o : m.operands) {
        if (inGroup[size_t(o)]) continue;
        // A broadcast's operand has another shape: it is always an edge input,
        // unless it is a constant.
        if (m.op == OpKind::Broadcast && g.node(o).op != OpKind::Constant) continue;
        if (m.op == OpKind::Gather || m.op == OpKind::Slice) continue;  // read from memory as they are
        auto why = fusionRefusal(g, o, ValueId(r), m.op == OpKind::Broadcast ? g.type(o).shape : shape, inGroup, users,
                                 members.size(), options);
        if (why) {
          if (refusals) refusals->push_back(fmt::format("%{} -> %{}: {}", g.node(o).name, root.name, *why));
          continue;
        }
        members.push_back(o);
        inGroup[size_t(o)] = true;
        OpKind op = g.node(o).op;
        if (op != OpKind::Constant && op != OpKind::Broadcast && op != OpKind::Slice) assigned[size_t(o)] = true;
      }
    }
    std::sort(members.begin(), members.end());
    std::vector<ValueId> operands;
    auto body = buildBody(g, members, operands);
    for (ValueId m : members) inGroup[size_t(m)] = false;
    Node fused;
    fused.op = OpKind::Fused;
    fused.name = g.nodes[r].name;
    fused.type = g.nodes[r].type;
    fused.group = g.nodes[r].group;  // the kernel is drawn where its result was
    fused.operands = operands;
    fused.body = std::move(body);
    fused.body->name = "body";
    g.nodes[r] = std::move(fused);
    changed = true;
  }
  if (changed) eliminateDeadCode(g);
  if (fuseColumnConcats(g)) {
    eliminateDeadCode(g);
    changed = true;
  }
  if (changed) scheduleEpilogues(g, options.epilogueChains);
  // From here on the verifier holds the graph to the fused phase's invariants.
  if (attr::phase(g.attrs, "") != "fused") {
    g.attrs[attr::key::phase] = std::string("fused");
    changed = true;
  }
  return changed;
}

void scheduleEpilogues(Graph& g, bool chains) {
  // How far past a product its chain is sought: a product read much later (a
  // step's input projections, read by every step) would otherwise pull every
  // independent node in between to before it.
  constexpr size_t kWindow = 64;
  const auto users = userLists(g);
  std::vector<ValueId> order;
  order.reserve(g.size());
  std::vector<char> placed(g.size(), 0), chainValue(g.size(), 0), after(g.size(), 0);
  for (Node& n : g.nodes) n.attrs.erase(attr::key::epilogue);
  for (size_t i = 0; i < g.size(); ++i) {
    if (placed[i]) continue;
    const Node& n = g.nodes[i];
    std::vector<size_t> members, before, touched;
    if (n.op == OpKind::PackedMatMul && n.type.rank() == 2) {
      size_t lastReader = i;
      for (ValueId u : users[i])
        if (u >= 0 && size_t(u) <= i + kWindow) lastReader = std::max(lastReader, size_t(u));
      int64_t width = 0;
      chainValue[i] = 1;
      touched.push_back(i);
      // Each later node joins the chain, stays after it (it reads the product,
      // the chain or what stays after it) or moves before the product; from
      // the product's last reader on, only members are taken.
      for (size_t k = i + 1; k < g.size(); ++k) {
        if (placed[k]) continue;
        const Node& c = g.nodes[k];
        bool readsChain = false, readsAfter = false;
        for (ValueId o : c.operands) {
          readsChain |= chainValue[size_t(o)] != 0;
          readsAfter |= after[size_t(o)] != 0;
        }
        bool member = false;
        if (readsChain && !readsAfter) {
          int64_t w = width ? width : epilogueChainWidth(g, ValueId(i), c);
          member = w > 0 && !epilogueMemberRefusal(g, ValueId(i), c, w, chainValue);
          if (!chains && (w != n.type.shape[1] || !members.empty() || columnConcatRoot(*c.body))) member = false;
          if (member) width = w;
        }
        if (!member && k > lastReader) break;
        touched.push_back(k);
        if (member) {
          members.push_back(k);
          chainValue[k] = 1;
        } else if (readsChain || readsAfter) {
          after[k] = 1;  // placed in its turn, after the chain
        } else {
          before.push_back(k);
        }
      }
      for (size_t k : touched) chainValue[k] = after[k] = 0;
      if (members.empty()) before.clear();  // nothing to make room for: the order stays
    }
    for (size_t k : before) order.push_back(ValueId(k)), placed[k] = 1;
    order.push_back(ValueId(i));
    placed[i] = 1;
    // Marked here, moved with its node: planning and codegen read the mark
    // instead of deciding again, and the verifier checks that it holds.
    for (size_t k : members) {
      order.push_back(ValueId(k));
      placed[k] = 1;
      g.nodes[k].attrs[attr::key::epilogue] = int64_t(1);
    }
  }
  g.reorder(order);
}

}  // namespace graphc
