// models/Layers.h — the module layer API beside the raw DSL, in two levels.
//
// As light as Flax: layers name themselves by kind and position ("embed0",
// "lstm0", "lstm1", "dense0") unless named, take their input size from the
// value they are applied to, and a recurrent layer's scan over time creates
// its carried state and registers the update that carries it:
//
//   std::vector<Value> xs = nn::Embed(b, c.vocab, 32)(tokens);          // a [batch, 32] per step
//   std::vector<Value> hs = nn::Stack(nn::LSTM(b, c.hidden), c.numLayers).scan(xs);
//   return nn::Dense(b, c.vocab)(nn::timeMajor(hs));                     // [steps*batch, vocab]
//
// By hand, for full control: cells made with explicit names and sizes, their
// state nodes, unroll and carryState:
//
//   nn::Dense out = nn::Dense::create(b, "out", H, V);
//   nn::LSTMCell cell = nn::LSTMCell::create(b, "lstm0", V, H);
//   nn::State s = nn::stateFor(b, cell, "lstm0", batch);   // state nodes h, c
//   auto [ys, last] = nn::unroll(cell, xs, s);
//   nn::carryState(b, s, last);
//
// Name scopes keep repeated blocks apart (params "block0.mlp.dense0.kernel"):
//
//   for (int i = 0; i < n; ++i) { Builder::Scope block(b, fmt::format("block{}", i)); x = mlp(x); }
//
// and a build error names the model, the scope it failed in and the model's
// line that called the layer or builder function (each takes a Where, the
// caller's file and line: graph/Builder.h), with the operands' names and types:
// "model 'mine' (in scope 'block1') at mine.cpp:42: builder: matmul: ...
// (operands %3 : f32[1120,64], %block1.dense0.kernel : f32[65,28])".
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

// "<kind><n>" with the smallest n whose params the graph does not hold yet:
// the position of a layer among those of its kind.
std::string autoName(Builder& b, const std::string& kind);

struct Dense {
  mutable Value kernel;  // [in, out]
  mutable Value bias;    // [out]; invalid when the layer has none
  Value operator()(Value x, Where where = Where::current()) const;
  static Dense create(Builder& b, const std::string& name, int64_t in, int64_t out, bool useBias = true,
                      const Init& kernelInit = Init::lecunNormal(), Where where = Where::current());

  Dense() = default;
  // A layer of `out` units whose params are made when first applied, with
  // the input's width; named "dense<n>" unless `name` is given.
  Dense(Builder& b, int64_t out, std::string name = "", bool useBias = true);

 private:
  Builder* builder_ = nullptr;
  int64_t out_ = 0;
  std::string name_;
  bool useBias_ = true;
};

// Token ids [batch, steps] to a [vocab, dim] table's rows, one [batch, dim]
// per step; the table ("embed<n>.table", N(0, 1) as Flax's Embed) is made on the call.
class Embed {
 public:
  Embed(Builder& b, int64_t vocab, int64_t dim, std::string name = "");
  std::vector<Value> operator()(Value tokens, Where where = Where::current()) const;

 private:
  Builder* builder_;
  int64_t vocab_, dim_;
  std::string name_;
};

// Inverted dropout when training: each element is kept with probability
// 1 - rate and scaled by 1 / (1 - rate). Masks come from the counter-based
// generator (graph/CounterRandom.h) keyed by the graph's input "rng_key"
// (seed, step, first row; the trainer sets it every step), so every engine,
// thread count, rank split and resumed run draws the same ones. Not training,
// or a rate of 0: the identity. A rate outside [0, 1) is an error.
Value dropout(Value x, double rate, bool training, Where where = Where::current());
// Per step; `variational`: one mask for all steps (Gal & Ghahramani), else a fresh one each step.
std::vector<Value> dropout(const std::vector<Value>& xs, double rate, bool training, bool variational = false,
                           Where where = Where::current());

// The per-step outputs as one time-major [steps*batch, width] matrix, the
// row order of a model's logits.
Value timeMajor(const std::vector<Value>& steps, Where where = Where::current());

// x_t for every step t: one_hot(tokens[:, t]) as [batch, vocab].
std::vector<Value> oneHotSteps(Value tokens, int64_t vocab, Where where = Where::current());

// A row gather from a [vocab, dim] table for every step: [batch, dim].
std::vector<Value> embedSteps(Value table, Value tokens, Where where = Where::current());

class Cell {
 public:
  virtual ~Cell() = default;
  virtual int64_t hidden() const = 0;
  // Names of the state tensors, e.g. {"h"} or {"h", "c"}; each is [batch, hidden].
  virtual std::vector<std::string> stateNames() const = 0;
  // One step: the output and the new state.
  virtual std::pair<Value, State> step(Value x, const State& state) const = 0;

 protected:
  std::string name_;  // its params' prefix ("layer0"): the group its steps' nodes are drawn in
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
State stateFor(Builder& b, const Cell& cell, const std::string& prefix, int64_t batch, Where where = Where::current());

// Runs the cell over the inputs; returns the outputs per step and the final state.
std::pair<std::vector<Value>, State> unroll(const Cell& cell, const std::vector<Value>& inputs, State state,
                                             Where where = Where::current());

// Registers updates that carry `final` into the state nodes `initial` after a run.
void carryState(Builder& b, const State& initial, const State& final);

// A recurrent layer: scan(xs) makes the cell for the inputs' width (named
// "<kind><n>" unless named), its state nodes, runs it over the steps,
// carries the final state to the next run, and returns the outputs per step.
template <typename CellT>
class Recurrent {
 public:
  Recurrent(Builder& b, int64_t hidden, std::string kind, std::string name = "")
      : builder_(&b), hidden_(hidden), kind_(std::move(kind)), name_(std::move(name)) {}
  std::vector<Value> scan(const std::vector<Value>& xs, Where where = Where::current()) const {
    Builder::Located site(*builder_, where);
    if (xs.empty()) throw Error(kind_ + ": scan over no steps");
    std::string name = name_.empty() ? autoName(*builder_, kind_) : name_;
    Builder::Group group(*builder_, name);  // the steps drawn inside the layer's box
    CellT cell = CellT::create(*builder_, name, xs.front().dim(1), hidden_);
    State initial = stateFor(*builder_, cell, name, xs.front().dim(0));
    auto [ys, final] = unroll(cell, xs, initial);
    carryState(*builder_, initial, final);
    return ys;
  }

 private:
  Builder* builder_;
  int64_t hidden_;
  std::string kind_, name_;
};

struct RNN : Recurrent<RNNCell> {
  RNN(Builder& b, int64_t hidden, std::string name = "") : Recurrent(b, hidden, "rnn", std::move(name)) {}
};
struct GRU : Recurrent<GRUCell> {
  GRU(Builder& b, int64_t hidden, std::string name = "") : Recurrent(b, hidden, "gru", std::move(name)) {}
};
struct LSTM : Recurrent<LSTMCell> {
  LSTM(Builder& b, int64_t hidden, std::string name = "") : Recurrent(b, hidden, "lstm", std::move(name)) {}
};

// `layers` copies of a recurrent layer, each scanning the previous one's
// outputs (so `--num-layers` is honoured by passing ModelConfig::numLayers).
template <typename Layer>
class Stack {
 public:
  Stack(Layer layer, int64_t layers) : layer_(std::move(layer)), layers_(layers) {
    if (layers < 1) throw Error("nn::Stack needs at least one layer");
  }
  std::vector<Value> scan(std::vector<Value> xs, Where where = Where::current()) const {
    if (xs.empty()) throw Error("nn::Stack: scan over no steps");
    Builder::Located site(xs.front().builder(), where);
    for (int64_t i = 0; i < layers_; ++i) xs = layer_.scan(xs);
    return xs;
  }

 private:
  Layer layer_;
  int64_t layers_;
};

}  // namespace graphc::nn
