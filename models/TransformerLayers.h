// models/TransformerLayers.h — the layers of a GPT-style transformer, in the
// DSL: layer normalisation, causal multi-head self-attention and the MLP
// block (GELU is an op: graph/Builder.h's gelu). Activations are batch-major matrices [batch*steps, width]; the
// attention reshapes them to [batch*heads, steps, head width] and multiplies
// with batched products.
//
//   Value h = x + nn::CausalSelfAttention(b, "h0.attn", heads, init)(nn::layerNorm(b, "h0.ln_1", x), batch);
//   h = h + nn::Mlp(b, "h0.mlp", init)(nn::layerNorm(b, "h0.ln_2", h));
#pragma once

#include <string>

#include "graph/Builder.h"

namespace graphc::nn {

// (x - mean) / sqrt(var + eps) * scale + bias over each row's `width`
// features; params NAME.scale (ones) and NAME.bias (zeros), as torch's LayerNorm.
Value layerNorm(Builder& b, const std::string& name, Value x, double eps = 1e-5, Where where = Where::current());

// softmax over the last axis, any rank: exp(log_softmax) of the rows.
Value softmax(Value x, Where where = Where::current());

// The standard deviations of a GPT's initial weights: N(0, std) for every
// kernel and embedding, and `residualStd` for the projections that write to
// the residual stream (GPT-2: std / sqrt(2 layers)).
struct TransformerInit {
  double std = 0.02;
  double residualStd = 0.02;
};

// Causal multi-head self-attention: NAME.c_attn ([width, 3 width] + bias), the
// heads' softmax(q k^T / sqrt(head width) + causal mask) v, and NAME.c_proj.
class CausalSelfAttention {
 public:
  CausalSelfAttention(Builder& b, std::string name, int64_t heads, TransformerInit init = {});
  // x: [batch*steps, width], batch-major. Returns the same shape.
  Value operator()(Value x, int64_t batch, Where where = Where::current()) const;
  // One new position per row of x [batch, width], its keys and values
  // appended to a cache of `context` positions carried as state
  // (NAME.k_cache, NAME.v_cache: [batch, context, width], the newest last);
  // `seen` (i32 [1]) counts the positions before this one, so the slots not
  // yet written are masked.
  Value step(Value x, Value seen, int64_t context, Where where = Where::current()) const;

 private:
  Value project(Value x) const;
  Value heads(Value x, int64_t batch, int64_t steps) const;  // [batch*steps, width] -> [batch*heads, steps, d]
  Value merge(Value y, int64_t batch, int64_t steps) const;  // the inverse
  Value attend(Value q, Value k, Value v, Value additiveMask) const;
  Builder* b_;
  std::string name_;
  int64_t heads_;
  TransformerInit init_;
};

// Dense to 4 x width, GELU (the exact one, torch.nn.GELU()), dense back (NAME.c_fc, NAME.c_proj).
class Mlp {
 public:
  Mlp(Builder& b, std::string name, TransformerInit init = {}) : b_(&b), name_(std::move(name)), init_(init) {}
  Value operator()(Value x, Where where = Where::current()) const;

 private:
  Builder* b_;
  std::string name_;
  TransformerInit init_;
};

}  // namespace graphc::nn
