// graph/eval/Tensor.h — a dense, row-major, owning tensor of f32 or i32.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/Types.h"

namespace graphc {

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(TensorType type);  // zero-filled
  Tensor(DType dtype, Shape shape) : Tensor(TensorType{dtype, std::move(shape)}) {}
  static Tensor f32(Shape shape, std::vector<float> values);
  static Tensor i32(Shape shape, std::vector<int32_t> values);
  static Tensor scalar(float v) { return f32({}, {v}); }

  const TensorType& type() const { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape& shape() const { return type_.shape; }
  int64_t size() const { return int64_t(dtype() == DType::F32 ? f_.size() : i_.size()); }

  float* f32() { return f_.data(); }
  const float* f32() const { return f_.data(); }
  int32_t* i32() { return i_.data(); }
  const int32_t* i32() const { return i_.data(); }
  std::vector<float>& f32Vector() { return f_; }
  const std::vector<float>& f32Vector() const { return f_; }
  const std::vector<int32_t>& i32Vector() const { return i_; }

  // Element i as double, whatever the dtype (for tests and printing).
  double at(int64_t i) const { return dtype() == DType::F32 ? double(f_[size_t(i)]) : double(i_[size_t(i)]); }
  float item() const;  // the only element of a one-element f32 tensor
  // Rows [r0, r1) of a tensor with rows first (a batch's), either dtype.
  Tensor rows(int64_t r0, int64_t r1) const;

 private:
  TensorType type_;
  std::vector<float> f_;
  std::vector<int32_t> i_;
};

// Named tensors: the inputs, params and state a graph runs with.
using TensorMap = std::unordered_map<std::string, Tensor>;

}  // namespace graphc
