// passes/PassOptions.cpp — parsing pipeline strings and typed option reads.
#include "passes/PassOptions.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

#include "graph/Graph.h"

namespace graphc {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::map<std::string, std::string> parseOptions(const std::string& pass, const std::string& body) {
  std::map<std::string, std::string> values;
  size_t start = 0;
  while (start <= body.size()) {
    size_t comma = body.find(',', start);
    if (comma == std::string::npos) comma = body.size();
    std::string item = trim(body.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(fmt::format("pass '{}': option '{}' is not key=value", escapeForMessage(pass), escapeForMessage(item)));
    std::string key = trim(item.substr(0, eq)), value = trim(item.substr(eq + 1));
    if (!values.emplace(key, value).second) throw Error(fmt::format("pass '{}': option '{}' given twice", pass, key));
  }
  return values;
}

}  // namespace

void PassOptions::allowOnly(const std::vector<std::string>& known) const {
  for (const auto& [key, value] : values_) {
    bool ok = false;
    for (const auto& k : known) ok |= k == key;
    if (!ok)
      throw Error(known.empty() ? fmt::format("pass '{}' takes no options, got '{}'", pass_, key)
                                : fmt::format("pass '{}' has no option '{}' (known: {})", pass_, key,
                                              fmt::join(known, ", ")));
  }
}

std::string PassOptions::getString(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

int64_t PassOptions::getInt(const std::string& key, int64_t fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  const std::string& v = it->second;
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE)
    throw Error(fmt::format("pass '{}': option {} must be an integer, got '{}'", pass_, key, escapeForMessage(v)));
  return x;
}

double PassOptions::getDouble(const std::string& key, double fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  const std::string& v = it->second;
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(x))
    throw Error(fmt::format("pass '{}': option {} must be a finite number, got '{}'", pass_, key, escapeForMessage(v)));
  return x;
}

std::string PassOptions::str() const {
  std::string out;
  for (const auto& [key, value] : values_) out += (out.empty() ? "" : ",") + key + "=" + value;
  return out;
}

std::vector<PassSpec> parsePipeline(const std::string& text) {
  std::vector<PassSpec> specs;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && text[j] != ',' && text[j] != '{') {
      if (text[j] == '}') throw Error(fmt::format("pipeline '{}': '}}' without '{{'", text));
      ++j;
    }
    std::string name = trim(text.substr(i, j - i));
    std::map<std::string, std::string> values;
    if (j < text.size() && text[j] == '{') {
      size_t close = text.find('}', j);
      if (close == std::string::npos) throw Error(fmt::format("pipeline '{}': '{{' without '}}'", text));
      if (name.empty()) throw Error(fmt::format("pipeline '{}': options without a pass name", text));
      values = parseOptions(name, text.substr(j + 1, close - j - 1));
      j = close + 1;
      if (j < text.size() && text[j] != ',')
        throw Error(fmt::format("pipeline '{}': expected ',' after the options of '{}'", text, name));
    }
    if (!name.empty()) specs.push_back({name, PassOptions(name, std::move(values))});
    i = j + 1;
  }
  return specs;
}

}  // namespace graphc
