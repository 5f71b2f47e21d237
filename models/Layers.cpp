// models/Layers.cpp — dense, cells and unroll in terms of the DSL.
#include "models/Layers.h"

#include <fmt/format.h>

namespace graphc::nn {

std::string autoName(Builder& b, const std::string& kind) {
  // A layer's params all start with its name and a dot; look for any.
  for (int n = 0;; ++n) {
    std::string name = fmt::format("{}{}", kind, n), prefix = b.scoped(name + ".");
    bool taken = false;
    for (const Node& node : b.graph().nodes)
      if ((node.op == OpKind::Param || node.op == OpKind::State) && node.name.rfind(prefix, 0) == 0) {
        taken = true;
        break;
      }
    if (!taken) return name;
  }
}

Dense::Dense(Builder& b, int64_t out, std::string name, bool useBias)
    : builder_(&b), out_(out), name_(std::move(name)), useBias_(useBias) {}

Value Dense::operator()(Value x, Where where) const {
  Builder::Located site(x.builder(), where);
  if (!kernel.valid()) {
    if (!builder_) throw Error("nn::Dense applied before it was made (use Dense(b, out) or Dense::create)");
    if (x.type().rank() != 2) throw Error(fmt::format("nn::Dense: the input is {}, not a matrix", str(x.type())));
    std::string name = name_.empty() ? autoName(*builder_, "dense") : name_;
    kernel = builder_->param(name + ".kernel", {x.dim(1), out_}, Init::lecunNormal());
    if (useBias_) bias = builder_->param(name + ".bias", {out_});
  }
  // Its nodes belong to the layer named as its kernel ("layer0.ii" for layer0.ii.kernel): graph pictures box them.
  const std::string& kernelName = x.builder().graph().node(kernel.id()).name;
  Builder::Group group(x.builder(), kernelName.substr(0, kernelName.rfind('.')));
  Value y = matmul(x, kernel);
  return bias.valid() ? y + bias : y;
}

Dense Dense::create(Builder& b, const std::string& name, int64_t in, int64_t out, bool useBias, const Init& kernelInit,
                    Where where) {
  Builder::Located site(b, where);
  Dense d;
  d.kernel = b.param(name + ".kernel", {in, out}, kernelInit);
  if (useBias) d.bias = b.param(name + ".bias", {out});
  return d;
}

Embed::Embed(Builder& b, int64_t vocab, int64_t dim, std::string name)
    : builder_(&b), vocab_(vocab), dim_(dim), name_(std::move(name)) {
  if (vocab < 1 || dim < 1) throw Error(fmt::format("nn::Embed: vocab {} and dim {} must be positive", vocab, dim));
}

std::vector<Value> Embed::operator()(Value tokens, Where where) const {
  Builder::Located site(*builder_, where);
  std::string name = name_.empty() ? autoName(*builder_, "embed") : name_;
  Builder::Group group(*builder_, name);
  return embedSteps(builder_->param(name + ".table", {vocab_, dim_}, Init::normal(1.0)), tokens);
}

namespace {

void checkRate(double rate) {
  if (!(rate >= 0 && rate < 1)) throw Error(fmt::format("dropout rate {} is outside [0, 1)", rate));
}

// x kept where u >= rate, scaled by 1 / (1 - rate); u uniform [0, 1) from a fresh stream.
Value dropoutMask(Builder& b, const Shape& shape, double rate) {
  Graph& g = b.graph();
  Value key;
  int64_t stream = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (g.nodes[i].op == OpKind::Input && g.nodes[i].name == "rng_key") key = b.wrap(ValueId(i));
    stream += g.nodes[i].op == OpKind::RandomUniform;
  }
  if (!key.valid()) key = b.input("rng_key", DType::I32, {3});
  Value u = randomUniform(key, shape, stream);
  Value keep = compare(u, b.constant(rate, shape), "ge");
  return select(keep, b.constant(1.0 / (1.0 - rate), shape), b.constant(0.0, shape));
}

}  // namespace

Value dropout(Value x, double rate, bool training, Where where) {
  Builder::Located site(x.builder(), where);
  checkRate(rate);
  if (!training || rate == 0) return x;
  return x * dropoutMask(x.builder(), x.shape(), rate);
}

std::vector<Value> dropout(const std::vector<Value>& xs, double rate, bool training, bool variational, Where where) {
  checkRate(rate);
  if (!training || rate == 0 || xs.empty()) return xs;
  Builder::Located site(xs.front().builder(), where);
  std::vector<Value> out;
  Value shared = variational ? dropoutMask(xs.front().builder(), xs.front().shape(), rate) : Value();
  for (Value x : xs) out.push_back(x * (variational ? shared : dropoutMask(x.builder(), x.shape(), rate)));
  return out;
}

Value timeMajor(const std::vector<Value>& steps, Where where) {
  if (steps.empty()) throw Error("nn::timeMajor of no steps");
  Builder::Located site(steps.front().builder(), where);
  return steps.size() == 1 ? steps.front() : concat(steps, 0);
}

std::vector<Value> oneHotSteps(Value tokens, int64_t vocab, Where where) {
  Builder::Located site(tokens.builder(), where);
  int64_t batch = tokens.dim(0), steps = tokens.dim(1);
  std::vector<Value> xs;
  for (int64_t t = 0; t < steps; ++t) xs.push_back(oneHot(reshape(slice(tokens, {0, t}, {batch, t + 1}), {batch}), vocab));
  return xs;
}

std::vector<Value> embedSteps(Value table, Value tokens, Where where) {
  Builder::Located site(table.builder(), where);
  int64_t batch = tokens.dim(0), steps = tokens.dim(1);
  std::vector<Value> xs;
  for (int64_t t = 0; t < steps; ++t) xs.push_back(gather(table, reshape(slice(tokens, {0, t}, {batch, t + 1}), {batch})));
  return xs;
}

RNNCell RNNCell::create(Builder& b, const std::string& name, int64_t in, int64_t hidden) {
  RNNCell c;
  c.name_ = name;
  c.input_ = Dense::create(b, name + ".input", in, hidden);
  c.recurrent_ = Dense::create(b, name + ".recurrent", hidden, hidden, false, Init::orthogonal());
  c.hidden_ = hidden;
  return c;
}

std::pair<Value, State> RNNCell::step(Value x, const State& s) const {
  Builder::Group group(x.builder(), name_);
  Value h = tanh(input_(x) + recurrent_(s.at(0)));
  return {h, {h}};
}

GRUCell GRUCell::create(Builder& b, const std::string& name, int64_t in, int64_t hidden) {
  GRUCell c;
  c.name_ = name;
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
  Builder::Group group(x.builder(), name_);
  Value h = s.at(0);
  Value r = sigmoid(ir_(x) + hr_(h));
  Value z = sigmoid(iz_(x) + hz_(h));
  Value n = tanh(in_(x) + r * hn_(h));
  Value next = (1.0 - z) * n + z * h;
  return {next, {next}};
}

LSTMCell LSTMCell::create(Builder& b, const std::string& name, int64_t in, int64_t hidden) {
  LSTMCell c;
  c.name_ = name;
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
  Builder::Group group(x.builder(), name_);
  Value h = s.at(0), c = s.at(1);
  Value i = sigmoid(ii_(x) + hi_(h));
  Value f = sigmoid(if_(x) + hf_(h));
  Value g = tanh(ig_(x) + hg_(h));
  Value o = sigmoid(io_(x) + ho_(h));
  Value c2 = f * c + i * g;
  Value h2 = o * tanh(c2);
  return {h2, {h2, c2}};
}

State stateFor(Builder& b, const Cell& cell, const std::string& prefix, int64_t batch, Where where) {
  Builder::Located site(b, where);
  State s;
  for (const auto& name : cell.stateNames()) s.push_back(b.state(prefix + "." + name, {batch, cell.hidden()}));
  return s;
}

std::pair<std::vector<Value>, State> unroll(const Cell& cell, const std::vector<Value>& inputs, State state, Where where) {
  if (inputs.empty()) return {{}, state};
  Builder::Located site(inputs.front().builder(), where);
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
