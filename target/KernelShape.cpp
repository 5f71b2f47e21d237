// target/KernelShape.cpp — broadcast patterns a fused loop can index.
#include "target/KernelShape.h"

#include <algorithm>
#include <fmt/format.h>

namespace graphc {

KernelGrid kernelGrid(const Shape& out) {
  int64_t n = 1;
  for (int64_t d : out) n *= d;
  int64_t cols = out.empty() ? 1 : out.back();
  return {cols == 0 ? 0 : n / cols, cols};
}

std::optional<BroadcastPattern> classifyBroadcast(const Shape& from, const Shape& to, std::string* why) {
  int64_t n = 1;
  for (int64_t d : from) n *= d;
  if (n == 1) return BroadcastPattern::Scalar;
  if (from == to) return BroadcastPattern::Full;
  Shape stripped(from.begin() + std::ptrdiff_t(std::find_if(from.begin(), from.end(), [](int64_t d) { return d != 1; }) - from.begin()), from.end());
  if (!to.empty() && stripped.size() == 1 && stripped[0] == to.back()) return BroadcastPattern::Row;
  if (from.size() == to.size() && from.back() == 1 && std::equal(from.begin(), from.end() - 1, to.begin()))
    return BroadcastPattern::Column;
  if (why) *why = fmt::format("broadcast {} -> {} is not a scalar, row or column pattern", str(from), str(to));
  return std::nullopt;
}

}  // namespace graphc
