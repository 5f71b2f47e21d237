// graph/Graph.cpp — graph storage and rewriting helpers.
#include "graph/Graph.h"

#include <fmt/format.h>

namespace graphc {

ValueId Graph::add(Node n) {
  if (n.name.empty()) n.name = freshName();
  ValueId id = ValueId(nodes.size());
  if (nameIndexValid_) nameIndex_.emplace(n.name, id);
  nodes.push_back(std::move(n));
  return id;
}

std::string Graph::freshName() {
  for (;;) {
    std::string candidate = std::to_string(nextTemp_++);
    if (findValue(candidate) < 0) return candidate;
  }
}

void Graph::rebuildNameIndex() const {
  nameIndex_.clear();
  for (size_t i = 0; i < nodes.size(); ++i) nameIndex_.emplace(nodes[i].name, ValueId(i));
  nameIndexValid_ = true;
}

ValueId Graph::findValue(const std::string& valueName) const {
  // add() keeps the index current and compact/reorder invalidate it; a pass
  // that moved or renamed nodes by hand is caught by the entry check. (Nodes
  // appended to `nodes` directly, not through add(), are not indexed.)
  if (!nameIndexValid_ || nameIndex_.size() > nodes.size()) rebuildNameIndex();
  auto it = nameIndex_.find(valueName);
  if (it == nameIndex_.end()) return -1;
  if (size_t(it->second) < nodes.size() && nodes[size_t(it->second)].name == valueName) return it->second;
  rebuildNameIndex();
  it = nameIndex_.find(valueName);
  return it == nameIndex_.end() ? -1 : it->second;
}

ValueId Graph::findOutput(const std::string& outputName) const {
  for (const auto& o : outputs)
    if (o.name == outputName) return o.value;
  return -1;
}

ValueId Graph::output(const std::string& outputName) const {
  ValueId v = findOutput(outputName);
  if (v < 0) throw Error(fmt::format("graph @{} has no output named '{}'", name, outputName));
  return v;
}

void Graph::setOutput(const std::string& outputName, ValueId v) {
  for (auto& o : outputs)
    if (o.name == outputName) {
      o.value = v;
      return;
    }
  outputs.push_back({outputName, v, {}});
}

std::vector<ValueId> Graph::nodesOf(OpKind k) const {
  std::vector<ValueId> out;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].op == k) out.push_back(ValueId(i));
  return out;
}

void Graph::replaceAllUses(ValueId from, ValueId to) {
  for (auto& n : nodes)
    for (auto& o : n.operands)
      if (o == from) o = to;
  for (auto& o : outputs)
    if (o.value == from) o.value = to;
  for (auto& u : updates)
    if (u.value == from) u.value = to;
}

void Graph::replaceUses(const std::vector<std::pair<ValueId, ValueId>>& fromTo) {
  std::vector<ValueId> to(nodes.size());
  for (size_t i = 0; i < to.size(); ++i) to[i] = ValueId(i);
  for (auto [f, t] : fromTo) to[size_t(f)] = t;
  for (auto& n : nodes)
    for (auto& o : n.operands) o = to[size_t(o)];
  for (auto& o : outputs) o.value = to[size_t(o.value)];
  for (auto& u : updates) u.value = to[size_t(u.value)];
}

void Graph::reorder(const std::vector<ValueId>& order) {
  std::vector<ValueId> remap(nodes.size(), -1);
  for (size_t i = 0; i < order.size(); ++i) remap[size_t(order[i])] = ValueId(i);
  std::vector<Node> placed;
  placed.reserve(order.size());
  for (ValueId v : order) placed.push_back(std::move(nodes[size_t(v)]));
  for (auto& n : placed)
    for (auto& o : n.operands) o = remap[size_t(o)];
  for (auto& o : outputs) o.value = remap[size_t(o.value)];
  for (auto& u : updates) {
    u.target = remap[size_t(u.target)];
    u.value = remap[size_t(u.value)];
  }
  nodes = std::move(placed);
  nameIndexValid_ = false;
}

void Graph::compact(const std::vector<bool>& keep) {
  std::vector<ValueId> order;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (keep[i]) order.push_back(ValueId(i));
  reorder(order);
}

void Graph::topologicalSort() {
  std::vector<ValueId> order;
  std::vector<char> state(nodes.size(), 0);  // 0 new, 1 on the stack, 2 placed
  for (size_t root = 0; root < nodes.size(); ++root) {
    if (state[root]) continue;
    // Iterative post-order DFS over operands.
    std::vector<std::pair<ValueId, size_t>> stack = {{ValueId(root), 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [v, next] = stack.back();
      const auto& ops = nodes[size_t(v)].operands;
      if (next < ops.size()) {
        ValueId o = ops[next++];
        if (state[size_t(o)] == 0) {
          state[size_t(o)] = 1;
          stack.push_back({o, 0});
        } else if (state[size_t(o)] == 1) {
          throw Error(fmt::format("graph @{} has a cycle through %{}", name, nodes[size_t(o)].name));
        }
        continue;
      }
      state[size_t(v)] = 2;
      order.push_back(v);
      stack.pop_back();
    }
  }
  reorder(order);
}

std::vector<int> Graph::useCounts() const {
  std::vector<int> uses(nodes.size(), 0);
  for (const auto& n : nodes)
    for (ValueId o : n.operands) ++uses[size_t(o)];
  for (const auto& o : outputs) ++uses[size_t(o.value)];
  for (const auto& u : updates) ++uses[size_t(u.value)];
  return uses;
}

std::string errorAt(const Graph& g, SourceLoc loc, const std::string& message) {
  if (loc.known()) return fmt::format("{}:{}:{}: error: {}", g.sourceName, loc.line, loc.col, message);
  return fmt::format("{}: error: {}", g.sourceName, message);
}

std::string commonLayer(const Graph& g, const std::vector<ValueId>& ids) {
  auto layer = [&](ValueId id) {
    const std::string& group = g.node(id).group;
    return group.substr(0, group.find('.'));
  };
  std::string common = ids.empty() ? "" : layer(ids.front());
  for (ValueId id : ids)
    if (layer(id) != common) return "";
  return common;
}

std::vector<int64_t> bodyInputIndex(const Graph& body) {
  std::vector<int64_t> index(body.size(), -1);
  int64_t inputs = 0;
  for (size_t i = 0; i < body.size(); ++i)
    if (body.nodes[i].op == OpKind::Input) index[i] = inputs++;
  return index;
}

}  // namespace graphc
