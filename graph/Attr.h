// graph/Attr.h — node attributes: a sorted name -> value map.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace graphc {

using AttrValue = std::variant<int64_t, double, std::vector<int64_t>, std::string>;
using Attrs = std::map<std::string, AttrValue>;  // sorted: printing is deterministic

// Typed accessors. A missing attribute or one of the wrong kind throws
// graphc::Error naming it; the verifier adds the location.
int64_t attrInt(const Attrs& a, const std::string& key);
int64_t attrInt(const Attrs& a, const std::string& key, int64_t fallback);
double attrFloat(const Attrs& a, const std::string& key);
double attrFloat(const Attrs& a, const std::string& key, double fallback);
const std::vector<int64_t>& attrInts(const Attrs& a, const std::string& key);
const std::string& attrString(const Attrs& a, const std::string& key);
std::string attrString(const Attrs& a, const std::string& key, const std::string& fallback);

// The IR spelling of a value: 3, 0.01, 1.0, [1, 2], "normal".
std::string attrToString(const AttrValue& v);

// Typed accessors for every attribute graph/Attrs.def lists.
namespace attr {
namespace key {
#define GRAPHC_ATTR(Accessor, Name, Kind) inline constexpr const char* Accessor = Name;
#include "graph/Attrs.def"
#undef GRAPHC_ATTR
}  // namespace key

#define GRAPHC_ATTR_Flag(Accessor, Name) \
  inline bool Accessor(const Attrs& a) { return attrInt(a, Name, 0) != 0; }
#define GRAPHC_ATTR_Int(Accessor, Name) \
  inline int64_t Accessor(const Attrs& a) { return attrInt(a, Name); }
#define GRAPHC_ATTR_Ints(Accessor, Name) \
  inline const std::vector<int64_t>& Accessor(const Attrs& a) { return attrInts(a, Name); }
#define GRAPHC_ATTR_String(Accessor, Name)                                   \
  inline const std::string& Accessor(const Attrs& a) { return attrString(a, Name); } \
  inline std::string Accessor(const Attrs& a, const std::string& fallback) { return attrString(a, Name, fallback); }
#define GRAPHC_ATTR_Float(Accessor, Name) \
  inline double Accessor(const Attrs& a, double fallback) { return attrFloat(a, Name, fallback); }
#define GRAPHC_ATTR_Number(Accessor, Name) \
  inline double Accessor(const Attrs& a) { return attrFloat(a, Name); }
#define GRAPHC_ATTR(Accessor, Name, Kind) GRAPHC_ATTR_##Kind(Accessor, Name)
#include "graph/Attrs.def"
#undef GRAPHC_ATTR
#undef GRAPHC_ATTR_Flag
#undef GRAPHC_ATTR_Int
#undef GRAPHC_ATTR_Ints
#undef GRAPHC_ATTR_String
#undef GRAPHC_ATTR_Float
#undef GRAPHC_ATTR_Number

// "" when `value` has the kind graph/Attrs.def declares for `name`, else what
// it must be ("an integer", "a list of integers", ...), or "declared by no
// op" for a name Attrs.def does not list.
std::string attrKindMismatch(const std::string& name, const AttrValue& value);
}  // namespace attr

}  // namespace graphc
