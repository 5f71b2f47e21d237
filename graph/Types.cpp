// graph/Types.cpp — printing of types.
#include "graph/Types.h"

namespace graphc {

const char* dtypeName(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::I32: return "i32";
  }
  return "?";
}

int64_t TensorType::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> stridesOf(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

std::string str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

std::string str(const TensorType& t) { return dtypeName(t.dtype) + str(t.shape); }

}  // namespace graphc
