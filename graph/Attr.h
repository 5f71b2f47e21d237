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

}  // namespace graphc
