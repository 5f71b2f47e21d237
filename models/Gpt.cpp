// models/Gpt.cpp — see Gpt.h. Parameter names follow nanoGPT's (wte, wpe,
// h<i>.ln_1, h<i>.attn.c_attn, ...), so a checkpoint maps onto its state dict.
#include "models/Gpt.h"

#include <cmath>
#include <fmt/format.h>

#include "models/Layers.h"
#include "models/TransformerLayers.h"

namespace graphc {

const std::vector<Hyperparameter> kGptHyperparameters = {
    {"heads", 4, "attention heads; they must divide --hidden, the embedding width"},
    {"context", 64, "positions the model attends over (rows of its position table); --num-steps at most this"},
    {"dropout", 0, "dropout rate on the embeddings and on each attention and MLP output, when training"}};

namespace {

struct Gpt {
  Builder& b;
  int64_t heads, context, layers;
  double dropout;
  bool training;
  nn::TransformerInit init;

  nn::CausalSelfAttention attention(int64_t layer) const {
    return nn::CausalSelfAttention(b, fmt::format("h{}.attn", layer), heads, init);
  }
  nn::Mlp mlp(int64_t layer) const { return nn::Mlp(b, fmt::format("h{}.mlp", layer), init); }
  Value norm(const std::string& name, Value x) const { return nn::layerNorm(b, name, x); }
  Value drop(Value x) const { return nn::dropout(x, dropout, training); }

  // tokens [batch, steps] -> [steps*batch, width] (time-major, as the loss reads the logits).
  Value sequences(Value wte, Value wpe, Value tokens) const {
    const int64_t batch = tokens.dim(0), steps = tokens.dim(1), width = wte.dim(1);
    Value tok = reshape(gather(wte, reshape(tokens, {batch * steps})), {batch, steps, width});
    Value x = drop(reshape(tok + slice(wpe, {0, 0}, {steps, width}), {batch * steps, width}));
    for (int64_t l = 0; l < layers; ++l) {
      x = x + drop(attention(l)(norm(fmt::format("h{}.ln_1", l), x), batch));
      x = x + drop(mlp(l)(norm(fmt::format("h{}.ln_2", l), x)));
    }
    Value h = reshape(norm("ln_f", x), {batch, steps, width});
    return reshape(transpose(h, {1, 0, 2}), {steps * batch, width});
  }

  // tokens [batch, 1] -> [batch, width], through the layers' KV caches.
  Value nextPosition(Value wte, Value wpe, Value tokens) const {
    const int64_t batch = tokens.dim(0);
    Value seen = b.state("position", {1}, DType::I32);
    Value place = minimum(seen, b.constant(double(context - 1), {1}, DType::I32));
    Value x = gather(wte, reshape(tokens, {batch})) + gather(wpe, place);
    for (int64_t l = 0; l < layers; ++l) {
      x = x + attention(l).step(norm(fmt::format("h{}.ln_1", l), x), seen, context);
      x = x + mlp(l)(norm(fmt::format("h{}.ln_2", l), x));
    }
    b.update(seen, seen + b.constant(1.0, {1}, DType::I32));
    b.graph().attrs[attr::key::context] = context;  // generation refills the cache past it (program.h)
    return norm("ln_f", x);
  }
};

}  // namespace

Value buildGpt(Builder& b, Value tokens, const ModelConfig& c) {
  const int64_t heads = c.wholeSetting("heads", 1, 1024), context = c.wholeSetting("context", 1, 1 << 16);
  const double dropout = c.dropoutRate();
  if (c.hidden % heads != 0)
    throw Error(fmt::format("--set heads={}: the heads must divide the embedding width --hidden {}", heads, c.hidden));
  const int64_t steps = tokens.dim(1);
  if (!c.generating && steps > context)
    throw Error(fmt::format("--num-steps {}: longer than the model's context {} (--set context=N)", steps, context));
  Gpt gpt{b, heads, context, c.numLayers, dropout, c.training,
          {0.02, 0.02 / std::sqrt(2.0 * double(c.numLayers))}};
  Value wte = b.param("wte", {c.vocab, c.hidden}, Init::normal(0.02));
  Value wpe = b.param("wpe", {context, c.hidden}, Init::normal(0.02));
  Value h = c.generating ? gpt.nextPosition(wte, wpe, tokens) : gpt.sequences(wte, wpe, tokens);
  return matmul(h, wte, false, true);  // the output layer is the token embedding, no bias
}

}  // namespace graphc
