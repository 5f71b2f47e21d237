// models/Layers.cpp — dense, cells and unroll in terms of the DSL.
#include "models/Layers.h"

#include <fmt/format.h>

namespace graphc::nn {

Value Dense::operator()(Value x) const {
  Value y = matmul(x, kernel);
  return bias.valid() ? y + bias : y;
}

Dense Dense::create(Builder& b, const std::string& name, int64_t in, int64_t out, bool useBias, const Init& kernelInit) {
  Dense d;
  d.kernel = b.param(name + ".kernel", {in, out}, kernelInit);
  if (useBias) d.bias = b.param(name + ".bias", {out});
  return d;
}

std::vector<Value> oneHotSteps(Value tokens, int64_t vocab) {
  int64_t batch = tokens.dim(0), steps = tokens.dim(1);
  std::vector<Value> xs;
  for (int64_t t = 0; t < steps; ++t) xs.push_back(oneHot(reshape(slice(tokens, {0, t}, {batch, t + 1}), {batch}), vocab));
  return xs;
}

std::vector<Value> embedSteps(Value table, Value tokens) {
  int64_t batch = tokens.dim(0), steps = tokens.dim(1);
  std::vector<Value> xs;
  for (int64_t t = 0; t < steps; ++t) xs.push_back(gather(table, reshape(slice(tokens, {0, t}, {batch, t + 1}), {batch})));
  return xs;
}

RNNCell RNNCell::create(Builder& b, const std::string& name, int64_t in, int64_t hidden) {
  RNNCell c;
  c.input_ = Dense::create(b, name + ".input", in, hidden);
  c.recurrent_ = Dense::create(b, name + ".recurrent", hidden, hidden, false, Init::orthogonal());
  c.hidden_ = hidden;
  return c;
}

std::pair<Value, State> RNNCell::step(Value x, const State& s) const {
  Value h = tanh(input_(x) + recurrent_(s.at(0)));
  return {h, {h}};
}

GRUCell GRUCell::create(Builder& b, const std::string& name, int64_t in, int64_t hidden) {
  GRUCell c;
  c.ir_ = Dense::create(b, name + ".ir", in, hidden);
  c.iz_ = Dense::create(b, name + ".iz", in, hidden);
  c.in_ = Dense::create(b, name + ".in", in, hidden);
  c.hr_ = Dense::create(b, name + ".hr", hidden, hidden, false, Init::orthogonal());
  c.hz_ = Dense::create(b, name + ".hz", hidden, hidden, false, Init::orthogonal());
  c.hn_ = Dense::create(b, name + ".hn", hidden, hidden, true, Init::orthogonal());
  c.hidden_ = hidden;
  return c;
}

std::pair<Value, State> GRUCell::step(Value x, const State& s) const {
  Value h = s.at(0);
  Value r = sigmoid(ir_(x) + hr_(h));
  Value z = sigmoid(iz_(x) + hz_(h));
  Value n = tanh(in_(x) + r * hn_(h));
  Value next = (1.0 - z) * n + z * h;
  return {next, {next}};
}

LSTMCell LSTMCell::create(Builder& b, const std::string& name, int64_t in, int64_t hidden) {
  LSTMCell c;
  c.ii_ = Dense::create(b, name + ".ii", in, hidden, false);
  c.if_ = Dense::create(b, name + ".if", in, hidden, false);
  c.ig_ = Dense::create(b, name + ".ig", in, hidden, false);
  c.io_ = Dense::create(b, name + ".io", in, hidden, false);
  c.hi_ = Dense::create(b, name + ".hi", hidden, hidden, true, Init::orthogonal());
  c.hf_ = Dense::create(b, name + ".hf", hidden, hidden, true, Init::orthogonal());
  c.hg_ = Dense::create(b, name + ".hg", hidden, hidden, true, Init::orthogonal());
  c.ho_ = Dense::create(b, name + ".ho", hidden, hidden, true, Init::orthogonal());
  c.hidden_ = hidden;
  return c;
}

std::pair<Value, State> LSTMCell::step(Value x, const State& s) const {
  Value h = s.at(0), c = s.at(1);
  Value i = sigmoid(ii_(x) + hi_(h));
  Value f = sigmoid(if_(x) + hf_(h));
  Value g = tanh(ig_(x) + hg_(h));
  Value o = sigmoid(io_(x) + ho_(h));
  Value c2 = f * c + i * g;
  Value h2 = o * tanh(c2);
  return {h2, {h2, c2}};
}

State stateFor(Builder& b, const Cell& cell, const std::string& prefix, int64_t batch) {
  State s;
  for (const auto& name : cell.stateNames()) s.push_back(b.state(prefix + "." + name, {batch, cell.hidden()}));
  return s;
}

std::pair<std::vector<Value>, State> unroll(const Cell& cell, const std::vector<Value>& inputs, State state) {
  std::vector<Value> outputs;
  for (const Value& x : inputs) {
    auto [y, next] = cell.step(x, state);
    outputs.push_back(y);
    state = std::move(next);
  }
  return {outputs, state};
}

void carryState(Builder& b, const State& initial, const State& final) {
  if (initial.size() != final.size()) throw Error("carryState: the states differ in arity");
  for (size_t i = 0; i < initial.size(); ++i) b.update(initial[i], final[i]);
}

}  // namespace graphc::nn
