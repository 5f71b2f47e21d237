// graph/Printer.cpp — Graph -> text.
#include <fmt/format.h>

#include "graph/TextIR.h"

namespace graphc {
namespace {

std::string printAttrs(const Attrs& attrs) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : attrs) {
    out += fmt::format("{}{} = {}", first ? "" : ", ", key, attrToString(value));
    first = false;
  }
  return out + "}";
}

// The statements of a graph (or a fused body), each line indented by `indent`.
void printStatements(const Graph& g, const std::string& indent, std::string& out) {
  for (const Node& n : g.nodes) {
    out += fmt::format("{}%{} = {}", indent, n.name, opName(n.op));
    if (!n.operands.empty()) {
      out += "(";
      for (size_t i = 0; i < n.operands.size(); ++i) {
        if (i) out += ", ";
        out += "%" + g.node(n.operands[i]).name;
      }
      out += ")";
    }
    if (!n.attrs.empty()) out += " " + printAttrs(n.attrs);
    out += " : " + str(n.type);
    if (n.body) {
      out += " {\n";
      printStatements(*n.body, indent + "  ", out);
      out += indent + "}";
    }
    out += "\n";
  }
  for (const auto& o : g.outputs)
    out += fmt::format("{}output {} = %{}\n", indent, attrToString(AttrValue(o.name)), g.node(o.value).name);
  for (const auto& u : g.updates)
    out += fmt::format("{}update %{} = %{}\n", indent, g.node(u.target).name, g.node(u.value).name);
}

}  // namespace

std::string printGraph(const Graph& g) {
  std::string out = fmt::format("graph @{} ", g.name);
  if (!g.attrs.empty()) out += "attributes " + printAttrs(g.attrs) + " ";
  out += "{\n";
  printStatements(g, "  ", out);
  out += "}\n";
  return out;
}

}  // namespace graphc
