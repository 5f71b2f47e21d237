// examples/mymodel/MyModel.cpp — a two-layer tanh RNN with an embedding
// input, written with graphc's layer API and registered as "mymodel".
#include "models/Plugin.h"

using namespace graphc;

static Value buildMyModel(Builder& b, Value tokens, const ModelConfig& c) {
  Value table = b.param("embedding", {c.vocab, 32}, Init::normal(0.1));
  std::vector<Value> xs = nn::embedSteps(table, tokens);
  int64_t in = 32;
  for (int64_t layer = 0; layer < 2; ++layer) {
    std::string name = "rnn" + std::to_string(layer);
    nn::RNNCell cell = nn::RNNCell::create(b, name, in, c.hidden);
    nn::State initial = nn::stateFor(b, cell, name, c.batchSize);
    auto [ys, final] = nn::unroll(cell, xs, initial);
    nn::carryState(b, initial, final);
    xs = ys;
    in = c.hidden;
  }
  return nn::Dense::create(b, "output", c.hidden, c.vocab)(concat(xs, 0));
}

static void registerMyModel() {
  registerModel({"mymodel", "example plugin: embedding, two stacked tanh RNN layers, dense output", 128, buildMyModel});
}

GRAPHC_MODEL_PLUGIN(registerMyModel)
