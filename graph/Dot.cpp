// graph/Dot.cpp — see Dot.h.
#include "graph/Dot.h"

#include <fmt/format.h>
#include <map>
#include <set>

#include "graph/TextIR.h"

namespace graphc {
namespace {

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string shapeLabel(const TensorType& t) {
  std::string dims;
  for (size_t d = 0; d < t.shape.size(); ++d) dims += (d ? "x" : "") + std::to_string(t.shape[d]);
  if (dims.empty()) dims = "scalar";
  return t.dtype == DType::F32 ? dims : "i32 " + dims;
}

// Fill colours by role.
const char* fillFor(OpKind op) {
  switch (op) {
    case OpKind::Input: return "#cfe2f3";
    case OpKind::Param: return "#ffe599";
    case OpKind::State: return "#f4cccc";
    case OpKind::MatMul:
    case OpKind::PackedMatMul: return "#fce5cd";
    case OpKind::PackPanels: return "#d9d2e9";
    default: return "#ffffff";
  }
}

std::string nodeLabel(const Node& n) {
  std::string op(opName(n.op));
  if (n.op == OpKind::MatMul) {
    if (attr::transposeA(n.attrs)) op += " (A^T)";
    if (attr::transposeB(n.attrs)) op += " (B^T)";
  }
  if (n.op == OpKind::PackPanels) op += fmt::format(" (width {})", attr::panelWidth(n.attrs));
  if (n.op == OpKind::PackedMatMul) op += " (packed B)";
  if (isSignature(n.op)) return fmt::format("%{}\n{} {}", n.name, op, shapeLabel(n.type));
  return fmt::format("{}\n%{}", op, n.name);
}

// Runs of repeated structure in the node order: `period` nodes repeated
// `count` times from `start`, the k-th repetition computing from the (k-1)-th
// exactly what that one computed from the one before.
struct Run {
  size_t start, period, count;
  bool contains(size_t i) const { return i >= start && i < start + period * count; }
  size_t representative(size_t i) const { return start + (i - start) % period; }
  size_t repetition(size_t i) const { return (i - start) / period; }
};

class RepeatFinder {
 public:
  explicit RepeatFinder(const Graph& g) : g_(g) {}

  std::vector<Run> find() {
    std::vector<Run> runs;
    constexpr size_t kMaxPeriod = 600, kMinCount = 3;
    for (size_t i = 0; i < g_.size();) {
      Run best{i, 0, 0};
      for (size_t p = 1; p <= kMaxPeriod && i + kMinCount * p <= g_.size(); ++p) {
        if (!same(i, i + p, p)) continue;
        size_t count = 1;
        while (i + (count + 1) * p <= g_.size() && blockRepeats(i + (count - 1) * p, p)) ++count;
        if (count >= kMinCount && count * p > best.count * best.period) best = {i, p, count};
      }
      if (best.count) {
        runs.push_back(best);
        i += best.period * best.count;
      } else {
        ++i;
      }
    }
    return runs;
  }

 private:
  // Node b is node a one repetition later: the same op, attribute names and
  // type, each operand the same value, the one a period later, or one of the
  // same op and type. (Attribute values may step along: step t slices column t.)
  bool same(size_t a, size_t b, size_t period) {
    const Node& x = g_.nodes[a];
    const Node& y = g_.nodes[b];
    if (isSignature(x.op) || x.op != y.op || x.type != y.type || x.operands.size() != y.operands.size()) return false;
    for (size_t k = 0; k < x.operands.size(); ++k) {
      size_t xo = size_t(x.operands[k]), yo = size_t(y.operands[k]);
      if (yo == xo || yo == xo + period) continue;
      // Or a value of the same kind (step t's slice of a tensor computed before the run).
      const Node& xn = g_.nodes[xo];
      const Node& yn = g_.nodes[yo];
      if (isSignature(xn.op) || xn.op != yn.op || xn.type != yn.type) return false;
    }
    if (x.attrs.size() != y.attrs.size()) return false;
    for (auto xi = x.attrs.begin(), yi = y.attrs.begin(); xi != x.attrs.end(); ++xi, ++yi)
      if (xi->first != yi->first) return false;
    return !x.body || bodyText(a) == bodyText(b);
  }
  bool blockRepeats(size_t a, size_t period) {
    for (size_t j = a; j < a + period; ++j)
      if (!same(j, j + period, period)) return false;
    return true;
  }
  const std::string& bodyText(size_t i) {
    auto [it, fresh] = bodies_.try_emplace(i);
    if (fresh) it->second = printGraph(*g_.nodes[i].body);
    return it->second;
  }

  const Graph& g_;
  std::map<size_t, std::string> bodies_;
};

class DotWriter {
 public:
  DotWriter(const Graph& g, const DotOptions& o) : g_(g) {
    if (o.collapseRepeats) runs_ = RepeatFinder(g).find();
  }

  std::string write() {
    out_ += fmt::format("digraph {} {{\n", quoted(g_.name));
    out_ += "  rankdir=TB; newrank=true;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", "
            "fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8, color=\"#555555\"];\n";
    writeNodesByLayer();
    for (size_t i = 0; i < g_.size(); ++i) writeEdgesInto(i);
    for (size_t k = 0; k < g_.outputs.size(); ++k) {
      const auto& o = g_.outputs[k];
      out_ += fmt::format("  out{} [label={}, fillcolor=\"#d9ead3\", shape=box];\n", k, quoted("output \"" + o.name + "\""));
      out_ += fmt::format("  {} -> out{} [label={}];\n", source(size_t(o.value)), k, quoted(shapeLabel(g_.type(o.value))));
    }
    for (const auto& u : g_.updates)
      out_ += fmt::format("  {} -> {} [style=dashed, color=\"#cc0000\", label=\"update\"];\n",
                          source(size_t(u.value)), id(size_t(u.target)));
    out_ += "}\n";
    return out_;
  }

 private:
  const Run* runOf(size_t i) const {
    for (const Run& r : runs_)
      if (r.contains(i)) return &r;
    return nullptr;
  }
  size_t shown(size_t i) const {
    const Run* r = runOf(i);
    return r ? r->representative(i) : i;
  }
  std::string id(size_t i) const { return fmt::format("n{}", shown(i)); }
  // Where a value's edges start: the node, or inside a fused kernel its result.
  std::string source(size_t i) const {
    size_t s = shown(i);
    const Node& n = g_.nodes[s];
    if (n.body) return fmt::format("f{}_{}", s, size_t(n.body->outputs.front().value));
    return id(s);
  }

  // The layer a node is drawn in: the first part of the group that built it
  // (Node::group: "layer0" for layer0.ii's product, "h1" for h1.attn's), or
  // for a param or state, of its scoped name ("rnn0" for rnn0.input.kernel,
  // "adam" for the optimizer's step count); "" for none.
  std::string layerOf(size_t i) const {
    const Node& n = g_.nodes[i];
    if (!n.group.empty()) return n.group.substr(0, n.group.find('.'));
    size_t dot = n.name.find('.');
    if ((n.op != OpKind::Param && n.op != OpKind::State) || dot == std::string::npos || dot == 0) return "";
    return n.name.substr(0, dot);
  }

  // A run's layer: its nodes' one layer, or "" when they span several (a
  // step of a stack: each layer then gets a box inside the run's).
  std::string layerOf(const Run& r) const {
    std::string layer = layerOf(r.start);
    for (size_t i = r.start; i < r.start + r.period; ++i)
      if (layerOf(i) != layer) return "";
    return layer;
  }

  // Each layer's nodes and runs in one box named after it; the rest outside.
  void writeNodesByLayer() {
    std::vector<std::string> order;                        // layers by first appearance
    std::map<std::string, std::vector<size_t>> items;       // layer -> nodes and run starts
    for (size_t i = 0; i < g_.size(); ++i) {
      const Run* run = runOf(i);
      if (run && i != run->start) continue;
      std::string layer = run ? layerOf(*run) : layerOf(i);
      auto [it, fresh] = items.try_emplace(layer);
      if (fresh && !layer.empty()) order.push_back(layer);
      it->second.push_back(i);
    }
    for (const std::string& layer : order) {
      out_ += fmt::format("  subgraph {} {{\n    label={}; style=\"rounded\"; color=\"#b7b7b7\"; fontsize=11;\n",
                          quoted("cluster_layer_" + layer), quoted(layer));
      for (size_t i : items[layer]) writeItem(i);
      out_ += "  }\n";
    }
    for (size_t i : items[""]) writeItem(i);
  }

  // A node, or the run starting at it: its first repetition in a box.
  void writeItem(size_t i) {
    const Run* run = runOf(i);
    if (!run) return writeNode(i);
    out_ += fmt::format("  subgraph cluster_run{} {{\n    label={}; style=\"rounded,dashed\"; color=\"#888888\";\n",
                        run->start,
                        quoted(fmt::format("x {} (repeated {} times: {} nodes each)", run->count, run->count, run->period)));
    std::vector<std::string> order;
    std::map<std::string, std::vector<size_t>> byLayer;
    const bool oneLayer = !layerOf(*run).empty();
    for (size_t j = run->start; j < run->start + run->period; ++j) {
      std::string layer = oneLayer ? "" : layerOf(j);
      auto [it, fresh] = byLayer.try_emplace(layer);
      if (fresh && !layer.empty()) order.push_back(layer);
      it->second.push_back(j);
    }
    for (const std::string& layer : order) {
      out_ += fmt::format("  subgraph {} {{\n    label={}; style=\"rounded\"; color=\"#b7b7b7\"; fontsize=10;\n",
                          quoted(fmt::format("cluster_run{}_{}", run->start, layer)), quoted(layer));
      for (size_t j : byLayer[layer]) writeNode(j);
      out_ += "  }\n";
    }
    for (size_t j : byLayer[""]) writeNode(j);
    out_ += "  }\n";
  }

  void writeNode(size_t i) {
    const Node& n = g_.nodes[i];
    if (!n.body) {
      std::string extra = n.op == OpKind::PackedMatMul ? ", penwidth=2" : "";
      if (n.op == OpKind::Constant) extra = ", shape=plaintext, style=\"\", fontcolor=\"#777777\"";
      out_ += fmt::format("  n{} [label={}, fillcolor=\"{}\"{}];\n", i, quoted(nodeLabel(n)), fillFor(n.op), extra);
      return;
    }
    // A fused kernel: a cluster with its body; its inputs are the outer operands.
    bool epilogue = attr::epilogue(n.attrs);
    // An epilogue runs inside the product just before it, on each panel of its result.
    std::string title = fmt::format("fused %{}{}", n.name, epilogue ? " (epilogue of the product before it)" : "");
    out_ += fmt::format("  subgraph cluster_f{} {{\n    label={}; style=\"rounded{}\"; color=\"{}\"; fontsize=10;\n", i,
                        quoted(title), epilogue ? ",bold" : "", epilogue ? "#e69138" : "#3d85c6");
    const Graph& body = *n.body;
    for (size_t j = 0; j < body.size(); ++j) {
      const Node& b = body.nodes[j];
      if (b.op == OpKind::Input) continue;  // %argK: drawn as the edge from operand K
      out_ += fmt::format("    f{}_{} [label={}, shape=ellipse, style=filled, fillcolor=\"#eef3fb\", fontsize=9];\n", i, j,
                          quoted(std::string(opName(b.op))));
    }
    out_ += "  }\n";
  }

  void edge(const std::string& from, const std::string& to, const TensorType& t, bool carried) {
    if (!edges_.insert({from, to}).second) return;
    out_ += fmt::format("  {} -> {} [label={}{}];\n", from, to, quoted(shapeLabel(t)),
                        carried ? ", style=dashed, color=\"#3d85c6\"" : "");
  }

  void writeEdgesInto(size_t i) {
    const Node& n = g_.nodes[i];
    const Run* run = runOf(i);
    size_t to = shown(i);
    for (size_t k = 0; k < n.operands.size(); ++k) {
      size_t o = size_t(n.operands[k]);
      const Run* from = runOf(o);
      // Inside a run, only the edges into the first repetition and those into
      // the next one (the carried values) are drawn.
      bool carried = run && from == run && run->repetition(o) < run->repetition(i);
      if (run && run->repetition(i) > 0 && !carried) continue;
      if (!n.body) {
        edge(source(o), id(to), g_.type(ValueId(o)), carried);
        continue;
      }
      // Into a fused kernel: to each body node that reads the input standing for operand k.
      const Graph& body = *g_.nodes[to].body;
      const std::vector<int64_t> inputIndex = bodyInputIndex(body);
      for (size_t j = 0; j < body.size(); ++j)
        for (ValueId use : body.nodes[j].operands)
          if (inputIndex[size_t(use)] == int64_t(k))
            edge(source(o), fmt::format("f{}_{}", to, j), g_.type(ValueId(o)), carried);
    }
    if (n.body && !(run && run->repetition(i) > 0)) {
      const Graph& body = *n.body;
      for (size_t j = 0; j < body.size(); ++j)
        for (ValueId use : body.nodes[j].operands)
          if (body.nodes[size_t(use)].op != OpKind::Input)
            edge(fmt::format("f{}_{}", i, size_t(use)), fmt::format("f{}_{}", i, j), body.type(use), false);
    }
  }

  const Graph& g_;
  std::vector<Run> runs_;
  std::set<std::pair<std::string, std::string>> edges_;
  std::string out_;
};

}  // namespace

std::string printDot(const Graph& g, const DotOptions& options) { return DotWriter(g, options).write(); }

}  // namespace graphc
