// graph/Constant.cpp — see Constant.h.
#include "graph/Constant.h"

#include <cmath>
#include <fmt/format.h>

#include "graph/Attr.h"
#include "graph/Error.h"

namespace graphc {

double constantValue(const Node& n) {
  if (n.type.dtype == DType::F32) return double(float(attr::value(n.attrs)));
  return double(int32_t(attrInt(n.attrs, attr::key::value)));
}

void setConstantValue(Node& n, double value) {
  if (n.type.dtype == DType::F32) {
    n.attrs[attr::key::value] = double(float(value));
    return;
  }
  // NaN fails both comparisons, so it is refused too.
  if (!(value > -2147483649.0 && value < 2147483648.0))
    throw Error(fmt::format("i32 constant value {} is out of range", value));
  n.attrs[attr::key::value] = int64_t(std::trunc(value));
}

void roundParsedConstant(Node& n) {
  auto it = n.attrs.find(attr::key::value);
  if (it == n.attrs.end() || n.type.dtype != DType::F32) return;
  if (auto* d = std::get_if<double>(&it->second)) *d = double(float(*d));
  else if (auto* i = std::get_if<int64_t>(&it->second)) it->second = double(float(*i));
}

}  // namespace graphc
