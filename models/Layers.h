// models/Layers.h — the module layer API beside the raw DSL: dense layers,
// token inputs, RNN/GRU/LSTM cells with tuple state, and unrolling over time.
//
//   nn::Dense out = nn::Dense::create(b, "out", H, V);
//   nn::LSTMCell cell = nn::LSTMCell::create(b, "lstm0", V, H);
//   nn::State s = nn::stateFor(b, cell, "lstm0", batch);   // state nodes h, c
//   auto [ys, last] = nn::unroll(cell, xs, s);
//
// Parameter initializers follow Flax's defaults: lecun_normal kernels,
// orthogonal recurrent kernels, zero biases.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "graph/Builder.h"

namespace graphc::nn {

using State = std::vector<Value>;

struct Dense {
  Value kernel;  // [in, out]
  Value bias;    // [out]; invalid when the layer has none
  Value operator()(Value x) const;
  static Dense create(Builder& b, const std::string& name, int64_t in, int64_t out, bool useBias = true,
                      const Init& kernelInit = Init::lecunNormal());
};

// x_t for every step t: one_hot(tokens[:, t]) as [batch, vocab].
std::vector<Value> oneHotSteps(Value tokens, int64_t vocab);

// A row gather from a [vocab, dim] table for every step: [batch, dim].
std::vector<Value> embedSteps(Value table, Value tokens);

class Cell {
 public:
  virtual ~Cell() = default;
  virtual int64_t hidden() const = 0;
  // Names of the state tensors, e.g. {"h"} or {"h", "c"}; each is [batch, hidden].
  virtual std::vector<std::string> stateNames() const = 0;
  // One step: the output and the new state.
  virtual std::pair<Value, State> step(Value x, const State& state) const = 0;
};

// h' = tanh(x W_i + b_i + h W_h); the recurrent dense has no bias.
class RNNCell : public Cell {
 public:
  static RNNCell create(Builder& b, const std::string& name, int64_t in, int64_t hidden);
  int64_t hidden() const override { return hidden_; }
  std::vector<std::string> stateNames() const override { return {"h"}; }
  std::pair<Value, State> step(Value x, const State& state) const override;

 private:
  Dense input_, recurrent_;
  int64_t hidden_ = 0;
};

// Flax's GRUCell: r, z gates; n = tanh(x W_in + b_in + r * (h W_hn + b_hn)); h' = (1 - z) n + z h.
class GRUCell : public Cell {
 public:
  static GRUCell create(Builder& b, const std::string& name, int64_t in, int64_t hidden);
  int64_t hidden() const override { return hidden_; }
  std::vector<std::string> stateNames() const override { return {"h"}; }
  std::pair<Value, State> step(Value x, const State& state) const override;

 private:
  Dense ir_, iz_, in_, hr_, hz_, hn_;
  int64_t hidden_ = 0;
};

// Flax's LSTMCell: i, f, o gates and g = tanh(...); c' = f c + i g; h' = o tanh(c'). State (h, c).
class LSTMCell : public Cell {
 public:
  static LSTMCell create(Builder& b, const std::string& name, int64_t in, int64_t hidden);
  int64_t hidden() const override { return hidden_; }
  std::vector<std::string> stateNames() const override { return {"h", "c"}; }
  std::pair<Value, State> step(Value x, const State& state) const override;

 private:
  Dense ii_, if_, ig_, io_, hi_, hf_, hg_, ho_;
  int64_t hidden_ = 0;
};

// State nodes "<prefix>.<name>" of shape [batch, hidden] for a cell.
State stateFor(Builder& b, const Cell& cell, const std::string& prefix, int64_t batch);

// Runs the cell over the inputs; returns the outputs per step and the final state.
std::pair<std::vector<Value>, State> unroll(const Cell& cell, const std::vector<Value>& inputs, State state);

// Registers updates that carry `final` into the state nodes `initial` after a run.
void carryState(Builder& b, const State& initial, const State& final);

}  // namespace graphc::nn
