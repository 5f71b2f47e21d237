// graph/Types.h — element types, static shapes and tensor types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace graphc {

enum class DType { F32, I32 };

const char* dtypeName(DType t);

using Shape = std::vector<int64_t>;

// Largest element count a tensor may have; keeps every size computation far
// from int64 overflow and refuses absurd dimensions early.
constexpr int64_t kMaxElements = int64_t(1) << 34;

struct TensorType {
  DType dtype = DType::F32;
  Shape shape;

  int64_t rank() const { return int64_t(shape.size()); }
  int64_t numElements() const;
  bool operator==(const TensorType& o) const { return dtype == o.dtype && shape == o.shape; }
  bool operator!=(const TensorType& o) const { return !(*this == o); }
};

// Row-major strides of a shape, in elements.
std::vector<int64_t> stridesOf(const Shape& s);

// "f32[32,512]", "i32[]".
std::string str(const Shape& s);
std::string str(const TensorType& t);

}  // namespace graphc
