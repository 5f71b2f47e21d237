// models/WordModels.cpp — see WordModels.h.
#include "models/WordModels.h"

#include <fmt/format.h>

#include "models/Layers.h"

namespace graphc {

const std::vector<Hyperparameter> kNplmHyperparameters = {
    {"n", 5, "order: the model reads the n-1 previous words"},
    {"m", 60, "width of each word's embedding"},
    {"direct", 1, "1: direct connections from the embeddings to the output"},
    {"dropout", 0, "dropout rate on the embeddings and on the tanh layer, when training (0 in the paper)"}};

const std::vector<Hyperparameter> kRecurrentLmHyperparameters = {
    {"embed", 0, "width of the word embedding (0: the hidden width)"},
    {"dropout", 0, "dropout rate on the embeddings, between layers and before the output, when training"},
    {"tie", 0, "1: the output layer is the embedding table (needs embed = hidden)"},
    {"variational", 0, "1: one dropout mask per sequence for all its steps (Gal & Ghahramani), 0: a mask per step"}};


Value buildNplm(Builder& b, Value tokens, const ModelConfig& c) {
  const int64_t n = c.wholeSetting("n", 2, 16), m = c.wholeSetting("m", 1, 4096);
  const bool direct = c.wholeSetting("direct", 0, 1) == 1;
  const int64_t B = tokens.dim(0), T = tokens.dim(1), V = c.vocab, context = n - 1;
  Value table = b.param("embed.table", {V, m}, Init::normal(0.1));
  // The window's tokens after the previous window's last n-2: column k + t
  // holds the k-th word of position t's context.
  Value all = tokens;
  if (n > 2) {
    Value carried = b.state("context", {B, n - 2}, DType::I32);
    all = concat({carried, tokens}, 1);
    b.update(carried, slice(all, {0, T}, {B, T + n - 2}));
  }
  std::vector<Value> words;
  for (int64_t k = 0; k < context; ++k) {
    Value ids = reshape(transpose(slice(all, {0, k}, {B, k + T}), {1, 0}), {T * B});  // time-major
    words.push_back(gather(table, ids));
  }
  const double rate = c.dropoutRate();
  Value x = nn::dropout(context == 1 ? words.front() : concat(words, 1), rate, c.training);  // [T*B, (n-1) m]
  Value hidden = nn::dropout(tanh(nn::Dense::create(b, "hidden", context * m, c.hidden)(x)), rate, c.training);
  Value logits = nn::Dense::create(b, "output", c.hidden, V)(hidden);
  if (direct) logits = logits + matmul(x, b.param("direct.kernel", {context * m, V}, Init::lecunNormal()));
  return logits;
}

namespace {

template <typename Layer>
Value buildRecurrentLm(Builder& b, Value tokens, const ModelConfig& c) {
  int64_t embed = c.wholeSetting("embed", 0, 1 << 14);
  if (embed == 0) embed = c.hidden;
  const double rate = c.dropoutRate();
  const bool variational = c.wholeSetting("variational", 0, 1) == 1;
  const bool tie = c.wholeSetting("tie", 0, 1) == 1;
  if (tie && embed != c.hidden)
    throw Error(fmt::format("--set tie=1: the embedding ({}) must be as wide as the hidden layer ({})", embed, c.hidden));
  Value table = b.param("embed.table", {c.vocab, embed}, Init::uniform(0.1));
  std::vector<Value> xs = nn::embedSteps(table, tokens);
  for (int64_t layer = 0; layer < c.numLayers; ++layer) {
    xs = nn::dropout(xs, rate, c.training, variational);  // on the embeddings, then between layers
    xs = Layer(b, c.hidden).scan(xs);
  }
  Value h = nn::timeMajor(nn::dropout(xs, rate, c.training, variational));  // before the output layer
  if (tie) return matmul(h, table, false, true) + b.param("output.bias", {c.vocab});
  return nn::Dense(b, c.vocab, "output")(h);
}

}  // namespace

Value buildLstmLm(Builder& b, Value tokens, const ModelConfig& c) { return buildRecurrentLm<nn::LSTM>(b, tokens, c); }
Value buildGruLm(Builder& b, Value tokens, const ModelConfig& c) { return buildRecurrentLm<nn::GRU>(b, tokens, c); }

}  // namespace graphc
