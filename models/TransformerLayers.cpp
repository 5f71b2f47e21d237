// models/TransformerLayers.cpp — see TransformerLayers.h.
#include "models/TransformerLayers.h"

#include <cmath>
#include <fmt/format.h>

#include "models/Layers.h"

namespace graphc::nn {
namespace {

// Added to a masked score: its softmax weight is exactly 0 (e^-1e9 underflows), with no inf - inf.
constexpr double kMaskedScore = -1e9;

}  // namespace

Value layerNorm(Builder& b, const std::string& name, Value x, double eps, Where where) {
  Builder::Located site(b, where);
  Builder::Group group(b, name);
  if (x.type().rank() != 2) throw Error(fmt::format("layerNorm {}: the input is {}, not a matrix", name, str(x.type())));
  const int64_t rows = x.dim(0), width = x.dim(1);
  Value centred = x - reshape(reduceMean(x, {1}), {rows, 1});
  Value variance = reshape(reduceMean(centred * centred, {1}), {rows, 1});
  Value normalised = centred / sqrt(variance + eps);
  return normalised * b.param(name + ".scale", {width}, Init::ones()) + b.param(name + ".bias", {width});
}

Value softmax(Value x, Where where) {
  Builder::Located site(x.builder(), where);
  const Shape shape = x.shape();
  const int64_t width = shape.back(), rows = x.type().numElements() / std::max<int64_t>(1, width);
  return reshape(exp(logSoftmax(reshape(x, {rows, width}))), shape);
}

CausalSelfAttention::CausalSelfAttention(Builder& b, std::string name, int64_t heads, TransformerInit init)
    : b_(&b), name_(std::move(name)), heads_(heads), init_(init) {
  if (heads < 1) throw Error(fmt::format("{}: {} heads", name_, heads));
}

Value CausalSelfAttention::project(Value x) const {
  const int64_t width = x.dim(1);
  if (width % heads_ != 0)
    throw Error(fmt::format("{}: {} heads do not divide the width {}", name_, heads_, width));
  return Dense::create(*b_, name_ + ".c_attn", width, 3 * width, true, Init::normal(init_.std))(x);
}

Value CausalSelfAttention::heads(Value x, int64_t batch, int64_t steps) const {
  const int64_t width = x.dim(1), d = width / heads_;
  return reshape(transpose(reshape(x, {batch, steps, heads_, d}), {0, 2, 1, 3}), {batch * heads_, steps, d});
}

Value CausalSelfAttention::merge(Value y, int64_t batch, int64_t steps) const {
  const int64_t d = y.dim(2);
  return reshape(transpose(reshape(y, {batch, heads_, steps, d}), {0, 2, 1, 3}), {batch * steps, heads_ * d});
}

Value CausalSelfAttention::attend(Value q, Value k, Value v, Value additiveMask) const {
  const double scale = 1.0 / std::sqrt(double(q.dim(2)));
  return matmul(softmax(matmul(q, k, false, true) * scale + additiveMask), v);
}

Value CausalSelfAttention::operator()(Value x, int64_t batch, Where where) const {
  Builder::Located site(*b_, where);
  Builder::Group group(*b_, name_);
  const int64_t rows = x.dim(0), width = x.dim(1);
  if (batch < 1 || rows % batch != 0)
    throw Error(fmt::format("{}: {} rows are not {} sequences", name_, rows, batch));
  const int64_t steps = rows / batch;
  Value qkv = project(x);
  auto part = [&](int64_t k) { return heads(slice(qkv, {0, k * width}, {rows, (k + 1) * width}), batch, steps); };
  // Query t sees keys s <= t.
  Value later = compare(iota(*b_, {steps, steps}, 1), iota(*b_, {steps, steps}, 0), "gt");
  Value mask = select(later, b_->constant(kMaskedScore, {steps, steps}), b_->constant(0.0, {steps, steps}));
  Value y = merge(attend(part(0), part(1), part(2), mask), batch, steps);
  return Dense::create(*b_, name_ + ".c_proj", width, width, true, Init::normal(init_.residualStd))(y);
}

Value CausalSelfAttention::step(Value x, Value seen, int64_t context, Where where) const {
  Builder::Located site(*b_, where);
  Builder::Group group(*b_, name_);
  const int64_t batch = x.dim(0), width = x.dim(1), d = width / std::max<int64_t>(1, heads_);
  Value qkv = project(x);
  auto part = [&](int64_t k) { return slice(qkv, {0, k * width}, {batch, (k + 1) * width}); };
  // The cache drops its oldest position and takes the new one at the end.
  auto appended = [&](const char* which, Value fresh) {
    Value cache = b_->state(fmt::format("{}.{}_cache", name_, which), {batch, context, width});
    Value next = concat({slice(cache, {0, 1, 0}, {batch, context, width}), reshape(fresh, {batch, 1, width})}, 1);
    b_->update(cache, next);
    return heads(reshape(next, {batch * context, width}), batch, context);
  };
  Value k = appended("k", part(1)), v = appended("v", part(2));
  // Slot s holds a position iff s + seen >= context - 1 (the new one is at context - 1).
  Value filled = compare(iota(*b_, {1, 1, context}, 2) + reshape(seen, {1, 1, 1}),
                         b_->constant(double(context - 1), {1, 1, context}, DType::I32), "ge");
  Value mask = select(filled, b_->constant(0.0, {1, 1, context}), b_->constant(kMaskedScore, {1, 1, context}));
  Value y = reshape(attend(reshape(part(0), {batch * heads_, 1, d}), k, v, mask), {batch, width});
  return Dense::create(*b_, name_ + ".c_proj", width, width, true, Init::normal(init_.residualStd))(y);
}

Value Mlp::operator()(Value x, Where where) const {
  Builder::Located site(*b_, where);
  Builder::Group group(*b_, name_);
  const int64_t width = x.dim(1);
  Value h = gelu(Dense::create(*b_, name_ + ".c_fc", width, 4 * width, true, Init::normal(init_.std))(x));
  return Dense::create(*b_, name_ + ".c_proj", 4 * width, width, true, Init::normal(init_.residualStd))(h);
}

}  // namespace graphc::nn
