// graph/Printer.cpp — Graph -> text.
#include <fmt/format.h>

#include "graph/TextIR.h"

namespace graphc {

std::string printGraph(const Graph& g) {
  std::string out = fmt::format("graph @{} {{\n", g.name);
  for (const Node& n : g.nodes) {
    out += fmt::format("  %{} = {}", n.name, opName(n.op));
    if (!n.operands.empty()) {
      out += "(";
      for (size_t i = 0; i < n.operands.size(); ++i) {
        if (i) out += ", ";
        out += "%" + g.node(n.operands[i]).name;
      }
      out += ")";
    }
    if (!n.attrs.empty()) {
      out += " {";
      bool first = true;
      for (const auto& [key, value] : n.attrs) {
        out += fmt::format("{}{} = {}", first ? "" : ", ", key, attrToString(value));
        first = false;
      }
      out += "}";
    }
    out += " : " + str(n.type) + "\n";
  }
  for (const auto& o : g.outputs)
    out += fmt::format("  output {} = %{}\n", attrToString(AttrValue(o.name)), g.node(o.value).name);
  for (const auto& u : g.updates) out += fmt::format("  update %{} = %{}\n", g.node(u.target).name, g.node(u.value).name);
  out += "}\n";
  return out;
}

}  // namespace graphc
