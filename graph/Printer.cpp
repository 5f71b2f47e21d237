// graph/Printer.cpp — Graph -> text.
#include <fmt/format.h>

#include "graph/TextIR.h"

namespace graphc {
namespace {

// An f32 constant's value is printed as the shortest text that reads back to
// the same float (0.1, not 0.10000000149011612); the parser rounds it again.
std::string printAttrs(const Attrs& attrs, bool isF32Constant = false) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : attrs) {
    const double* d = std::get_if<double>(&value);
    bool asFloat = d && isF32Constant && key == attr::key::value && double(float(*d)) == *d;
    std::string text = attrToString(value);
    if (asFloat) {
      text = fmt::format("{}", float(*d));
      if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
    }
    out += fmt::format("{}{} = {}", first ? "" : ", ", key, text);
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
    if (!n.attrs.empty()) out += " " + printAttrs(n.attrs, n.op == OpKind::Constant && n.type.dtype == DType::F32);
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
