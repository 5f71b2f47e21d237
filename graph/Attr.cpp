// graph/Attr.cpp — attribute accessors and their IR spelling.
#include "graph/Attr.h"

#include <fmt/format.h>

#include "graph/Error.h"

namespace graphc {
namespace {

template <typename T>
const T& get(const Attrs& a, const std::string& key, const char* kind) {
  auto it = a.find(key);
  if (it == a.end()) throw Error(fmt::format("missing attribute '{}'", key));
  if (auto* p = std::get_if<T>(&it->second)) return *p;
  throw Error(fmt::format("attribute '{}' must be {}", key, kind));
}

}  // namespace

int64_t attrInt(const Attrs& a, const std::string& key) { return get<int64_t>(a, key, "an integer"); }
int64_t attrInt(const Attrs& a, const std::string& key, int64_t fallback) {
  return a.count(key) ? attrInt(a, key) : fallback;
}
double attrFloat(const Attrs& a, const std::string& key) {
  auto it = a.find(key);
  // An integer literal is accepted where a float is expected.
  if (it != a.end())
    if (auto* i = std::get_if<int64_t>(&it->second)) return double(*i);
  return get<double>(a, key, "a number");
}
double attrFloat(const Attrs& a, const std::string& key, double fallback) {
  return a.count(key) ? attrFloat(a, key) : fallback;
}
const std::vector<int64_t>& attrInts(const Attrs& a, const std::string& key) {
  return get<std::vector<int64_t>>(a, key, "a list of integers");
}
const std::string& attrString(const Attrs& a, const std::string& key) {
  return get<std::string>(a, key, "a string");
}
std::string attrString(const Attrs& a, const std::string& key, const std::string& fallback) {
  return a.count(key) ? attrString(a, key) : fallback;
}

std::string attrToString(const AttrValue& v) {
  struct Visitor {
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      // Shortest text that reads back to the same double; always marked as a float.
      std::string s = fmt::format("{}", d);
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
      return s;
    }
    std::string operator()(const std::vector<int64_t>& l) const { return fmt::format("[{}]", fmt::join(l, ", ")); }
    std::string operator()(const std::string& s) const {
      // Every control byte escaped (\n, \t, \xHH), so printed IR parses back.
      std::string out = "\"";
      for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') out += {'\\', c};
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
        else out += c;
      }
      return out + "\"";
    }
  };
  return std::visit(Visitor{}, v);
}

std::string escapeForMessage(const std::string& text, size_t maxChars) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == maxChars) return out + "...";
    auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
    else out += text[i];
  }
  return out;
}

namespace attr {

std::string attrKindMismatch(const std::string& name, const AttrValue& value) {
  static const std::map<std::string, std::string> kinds = {
#define GRAPHC_ATTR(Accessor, Name, Kind) {Name, #Kind},
#include "graph/Attrs.def"
#undef GRAPHC_ATTR
  };
  auto it = kinds.find(name);
  if (it == kinds.end()) return "declared by no op";
  const std::string& kind = it->second;
  bool isInt = std::holds_alternative<int64_t>(value), isFloat = std::holds_alternative<double>(value);
  if (kind == "Flag" || kind == "Int") return isInt ? "" : "an integer";
  if (kind == "Ints") return std::holds_alternative<std::vector<int64_t>>(value) ? "" : "a list of integers";
  if (kind == "String") return std::holds_alternative<std::string>(value) ? "" : "a string";
  return isInt || isFloat ? "" : "a number";  // Float, Number
}

}  // namespace attr
}  // namespace graphc
