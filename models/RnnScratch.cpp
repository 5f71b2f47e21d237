// models/RnnScratch.cpp — H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h), O_t = H_t W_hq + b_q.
#include "models/RnnScratch.h"

namespace graphc {

Value buildRnnScratch(Builder& b, Value tokens, const ModelConfig& c) {
  const int64_t B = c.batchSize, T = c.numSteps, H = c.hidden, V = c.vocab;
  // The seed draws every weight from N(0, 0.01^2) and starts biases at zero.
  Value W_xh = b.param("W_xh", {V, H}, Init::normal(0.01));
  Value W_hh = b.param("W_hh", {H, H}, Init::normal(0.01));
  Value b_h = b.param("b_h", {H});
  Value W_hq = b.param("W_hq", {H, V}, Init::normal(0.01));
  Value b_q = b.param("b_q", {V});
  Value state = b.state("H", {B, H});

  Value h = state;
  std::vector<Value> hs;
  for (int64_t t = 0; t < T; ++t) {
    Value x_t = reshape(slice(tokens, {0, t}, {B, t + 1}), {B});
    h = tanh(matmul(oneHot(x_t, V), W_xh) + matmul(h, W_hh) + b_h);
    hs.push_back(h);
  }
  b.update(state, h);
  // O_t = H_t W_hq + b_q for every t at once: one [T*B, H] x [H, V] product
  // over the time-major stack, the rows d2l concatenates.
  return matmul(concat(hs, 0), W_hq) + b_q;
}

}  // namespace graphc
