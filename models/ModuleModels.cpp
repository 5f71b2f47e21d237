// models/ModuleModels.cpp — cell stacks unrolled over time, then one dense
// layer over all steps at once (time-major rows, as the loss expects).
#include "models/ModuleModels.h"

#include <fmt/format.h>
#include <functional>
#include <memory>

#include "models/Layers.h"

namespace graphc {
namespace {

using CellFactory = std::function<std::unique_ptr<nn::Cell>(Builder&, const std::string&, int64_t in, int64_t hidden)>;

Value buildStacked(Builder& b, Value tokens, const ModelConfig& c, const CellFactory& makeCell) {
  std::vector<Value> xs = nn::oneHotSteps(tokens, c.vocab);
  int64_t in = c.vocab;
  for (int64_t layer = 0; layer < c.numLayers; ++layer) {
    std::string name = fmt::format("layer{}", layer);
    auto cell = makeCell(b, name, in, c.hidden);
    nn::State initial = nn::stateFor(b, *cell, name, c.batchSize);
    auto [ys, final] = nn::unroll(*cell, xs, initial);
    nn::carryState(b, initial, final);
    xs = std::move(ys);
    in = c.hidden;
  }
  nn::Dense out = nn::Dense::create(b, "output", c.hidden, c.vocab);
  return out(concat(xs, 0));
}

template <typename CellT>
CellFactory factory() {
  return [](Builder& b, const std::string& name, int64_t in, int64_t hidden) {
    return std::make_unique<CellT>(CellT::create(b, name, in, hidden));
  };
}

}  // namespace

Value buildRnnModule(Builder& b, Value tokens, const ModelConfig& c) {
  return buildStacked(b, tokens, c, factory<nn::RNNCell>());
}
Value buildGruModule(Builder& b, Value tokens, const ModelConfig& c) {
  return buildStacked(b, tokens, c, factory<nn::GRUCell>());
}
Value buildLstmModule(Builder& b, Value tokens, const ModelConfig& c) {
  return buildStacked(b, tokens, c, factory<nn::LSTMCell>());
}

}  // namespace graphc
