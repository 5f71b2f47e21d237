// examples/mymodel/MyModel.cpp — an embedding, stacked tanh RNN layers and a
// dense head, written with graphc's layer API and registered as "mymodel".
// It reads like the seed's Flax module: embed, scan a cell over time, dense.
#include "models/Plugin.h"

using namespace graphc;

static Value buildMyModel(Builder& b, Value tokens, const ModelConfig& c) {
  std::vector<Value> xs = nn::Embed(b, c.vocab, int64_t(c.setting("embed")))(tokens);
  std::vector<Value> hs = nn::Stack(nn::RNN(b, c.hidden), c.numLayers).scan(xs);
  return nn::Dense(b, c.vocab)(nn::timeMajor(hs));
}

static void registerMyModel() {
  registerModel({.name = "mymodel",
                 .description = "example plugin: embedding, stacked tanh RNN layers, dense output",
                 .defaultHidden = 128,
                 .build = buildMyModel,
                 .hyperparameters = {{"embed", 32, "width of the token embedding"}},
                 .defaultLayers = 2});
}

GRAPHC_MODEL_PLUGIN(registerMyModel)
