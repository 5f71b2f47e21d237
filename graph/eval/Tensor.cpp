// graph/eval/Tensor.cpp — tensor construction.
#include "graph/eval/Tensor.h"

#include <algorithm>
#include <fmt/format.h>

#include "graph/Error.h"
#include "graph/ShapeInference.h"

namespace graphc {

Tensor::Tensor(TensorType type) : type_(std::move(type)) {
  size_t n = size_t(checkedNumElements(type_.shape));
  if (type_.dtype == DType::F32) f_.assign(n, 0.0f);
  else i_.assign(n, 0);
}

Tensor Tensor::f32(Shape shape, std::vector<float> values) {
  Tensor t(DType::F32, std::move(shape));
  if (values.size() != t.f_.size())
    throw Error(fmt::format("tensor of shape {} given {} values", str(t.shape()), values.size()));
  t.f_ = std::move(values);
  return t;
}

Tensor Tensor::i32(Shape shape, std::vector<int32_t> values) {
  Tensor t(DType::I32, std::move(shape));
  if (values.size() != t.i_.size())
    throw Error(fmt::format("tensor of shape {} given {} values", str(t.shape()), values.size()));
  t.i_ = std::move(values);
  return t;
}

float Tensor::item() const {
  if (dtype() != DType::F32 || f_.size() != 1) throw Error(fmt::format("item() of a {} tensor", str(type_)));
  return f_[0];
}

Tensor Tensor::rows(int64_t r0, int64_t r1) const {
  Shape s = shape();
  int64_t perRow = s[0] != 0 ? size() / s[0] : 0;
  s[0] = r1 - r0;
  Tensor out(dtype(), s);
  if (dtype() == DType::F32) std::copy_n(f_.begin() + r0 * perRow, (r1 - r0) * perRow, out.f_.begin());
  else std::copy_n(i_.begin() + r0 * perRow, (r1 - r0) * perRow, out.i_.begin());
  return out;
}

}  // namespace graphc
