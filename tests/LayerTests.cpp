// tests/LayerTests.cpp — the layer API's cells against hand-written
// references, their gradients against finite differences, and tuple-state
// carry-over.
#include <cmath>
#include <fmt/format.h>

#include "GradientCheck.h"
#include "TestUtil.h"
#include "graph/Verifier.h"
#include "models/Layers.h"
#include "models/Model.h"
#include "passes/Autodiff.h"
#include "runtime/Initializers.h"

using namespace graphc;

namespace {

// The line of a test model's failing builder call (captureless build functions write it).
int failingLine = 0;

using Vec = std::vector<double>;

// y = x W (+ b) for one row x and a [in, out] kernel.
Vec dense(const Vec& x, const Tensor& W, const Tensor* b = nullptr) {
  int64_t in = W.shape()[0], out = W.shape()[1];
  Vec y(size_t(out), 0.0);
  for (int64_t j = 0; j < out; ++j) {
    for (int64_t i = 0; i < in; ++i) y[size_t(j)] += x[size_t(i)] * W.f32()[i * out + j];
    if (b) y[size_t(j)] += b->f32()[j];
  }
  return y;
}
double sig(double v) { return 1 / (1 + std::exp(-v)); }

struct Setup {
  Graph g;
  TensorMap vars;
};

// A one-step graph of `model` (batch 1) with random params, state and token.
Setup oneStep(const std::string& model, int64_t hidden, int64_t vocab, int32_t token, uint64_t seed) {
  ModelConfig c{1, 1, hidden, vocab, 1};
  Setup s{buildStepGraph(findModel(model), c), {}};
  Rng rng(seed);
  s.vars = initializeParams(s.g, rng);
  for (auto& [name, t] : s.vars) initialize(t, "uniform", 0.8, rng);  // all weights non-trivial, biases too
  for (auto& [name, t] : zeroState(s.g)) {
    initialize(t, "uniform", 0.8, rng);
    s.vars[name] = t;
  }
  s.vars["X"] = Tensor::i32({1, 1}, {token});
  return s;
}

Vec oneHotVec(int64_t v, int32_t token) {
  Vec x(size_t(v), 0.0);
  x[size_t(token)] = 1;
  return x;
}

Vec row(const Tensor& t) { return Vec(t.f32Vector().begin(), t.f32Vector().end()); }

void checkVec(const Tensor& got, const Vec& want, const char* what) {
  INFO(what);
  REQUIRE(size_t(got.size()) == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(got.f32()[i] == doctest::Approx(want[i]).epsilon(1e-5));
}

}  // namespace

TEST_CASE("RNNCell step matches h' = tanh(x W_i + b_i + h W_h)") {
  Setup s = oneStep("rnn", 3, 5, 2, 1);
  TensorMap v = s.vars;
  Vec x = oneHotVec(5, 2), h = row(v.at("layer0.h"));
  Vec a = dense(x, v.at("layer0.input.kernel"), &v.at("layer0.input.bias")), r = dense(h, v.at("layer0.recurrent.kernel"));
  Vec h2(3);
  for (size_t j = 0; j < 3; ++j) h2[j] = std::tanh(a[j] + r[j]);
  Vec logits = dense(h2, v.at("output.kernel"), &v.at("output.bias"));
  auto out = Interpreter(s.g).run(v);
  checkVec(v.at("layer0.h"), h2, "new h");
  checkVec(out.at("logits"), logits, "logits");
}

TEST_CASE("GRUCell step matches Flax's GRU equations") {
  Setup s = oneStep("gru", 3, 5, 4, 2);
  TensorMap v = s.vars;
  Vec x = oneHotVec(5, 4), h = row(v.at("layer0.h"));
  auto D = [&](const Vec& in, const std::string& name, bool bias) {
    return dense(in, v.at("layer0." + name + ".kernel"), bias ? &v.at("layer0." + name + ".bias") : nullptr);
  };
  Vec ir = D(x, "ir", true), iz = D(x, "iz", true), in = D(x, "in", true);
  Vec hr = D(h, "hr", false), hz = D(h, "hz", false), hn = D(h, "hn", true);
  Vec h2(3);
  for (size_t j = 0; j < 3; ++j) {
    double r = sig(ir[j] + hr[j]), z = sig(iz[j] + hz[j]), n = std::tanh(in[j] + r * hn[j]);
    h2[j] = (1 - z) * n + z * h[j];
  }
  Interpreter(s.g).run(v);
  checkVec(v.at("layer0.h"), h2, "new h");
}

TEST_CASE("LSTMCell step matches Flax's LSTM equations, state (h, c)") {
  Setup s = oneStep("lstm", 3, 5, 1, 3);
  TensorMap v = s.vars;
  Vec x = oneHotVec(5, 1), h = row(v.at("layer0.h")), c = row(v.at("layer0.c"));
  auto D = [&](const Vec& in, const std::string& name, bool bias) {
    return dense(in, v.at("layer0." + name + ".kernel"), bias ? &v.at("layer0." + name + ".bias") : nullptr);
  };
  Vec ii = D(x, "ii", false), iff = D(x, "if", false), ig = D(x, "ig", false), io = D(x, "io", false);
  Vec hi = D(h, "hi", true), hf = D(h, "hf", true), hg = D(h, "hg", true), ho = D(h, "ho", true);
  Vec h2(3), c2(3);
  for (size_t j = 0; j < 3; ++j) {
    double i = sig(ii[j] + hi[j]), f = sig(iff[j] + hf[j]), g = std::tanh(ig[j] + hg[j]), o = sig(io[j] + ho[j]);
    c2[j] = f * c[j] + i * g;
    h2[j] = o * std::tanh(c2[j]);
  }
  Interpreter(s.g).run(v);
  checkVec(v.at("layer0.h"), h2, "new h");
  checkVec(v.at("layer0.c"), c2, "new c");
}

TEST_CASE("cell gradients match finite differences (rnn, gru, lstm, two layers)") {
  for (const char* model : {"rnn", "gru", "lstm"}) {
    ModelConfig c{2, 3, 4, 6, 2};
    INFO(model);
    Graph g = buildModelGraph(findModel(model), c);
    Rng rng(7);
    TensorMap vars = test::randomModelVars(g, rng, 2, 3, 5);
    test::checkParamGradients(std::move(g), vars, 5);
  }
}

TEST_CASE("state carry-over: two half sequences equal one full sequence (single and tuple state)") {
  for (const char* model : {"rnn-scratch", "lstm"}) {
    INFO(std::string(model));
    const ModelDef& m = findModel(model);
    int64_t layers = m.stacksLayers ? 2 : 1;
    ModelConfig full{2, 6, 5, 7, layers}, half{2, 3, 5, 7, layers};
    Graph gFull = buildModelGraph(m, full), gHalf = buildModelGraph(m, half);
    Rng rng(5);
    TensorMap params = initializeParams(gFull, rng);
    for (auto& [name, t] : params) initialize(t, "normal", 0.5, rng);
    Tensor X(DType::I32, {2, 6});
    for (int64_t i = 0; i < X.size(); ++i) X.i32()[i] = int32_t(rng.uniformInt(0, 6));
    TensorMap vFull = params;
    for (auto& [name, t] : zeroState(gFull)) vFull[name] = t;
    vFull["X"] = vFull["Y"] = X;
    Tensor logitsFull = Interpreter(gFull).run(vFull).at("logits");

    TensorMap vHalf = params;
    for (auto& [name, t] : zeroState(gHalf)) vHalf[name] = t;
    Interpreter ih(gHalf);
    std::vector<float> halves;  // rows are time-major: part p holds steps 3p..3p+2
    for (int64_t part = 0; part < 2; ++part) {
      Tensor Xh(DType::I32, {2, 3});
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t t = 0; t < 3; ++t) Xh.i32()[r * 3 + t] = X.i32()[r * 6 + part * 3 + t];
      vHalf["X"] = vHalf["Y"] = Xh;
      auto l = ih.run(vHalf).at("logits").f32Vector();
      halves.insert(halves.end(), l.begin(), l.end());
    }
    REQUIRE(halves.size() == logitsFull.f32Vector().size());
    for (size_t i = 0; i < halves.size(); ++i) CHECK(halves[i] == doctest::Approx(logitsFull.f32()[i]).epsilon(1e-5));
    for (auto& [name, t] : zeroState(gFull)) {
      INFO(name);
      for (int64_t i = 0; i < t.size(); ++i)
        CHECK(vHalf.at(name).f32()[i] == doctest::Approx(vFull.at(name).f32()[i]).epsilon(1e-5));
    }
  }
}

TEST_CASE("initializers: orthogonal is orthogonal, lecun_normal has variance 1/fan_in") {
  Rng rng(1);
  Tensor q(DType::F32, {64, 64});
  initialize(q, "orthogonal", 1.0, rng);
  for (int64_t i = 0; i < 64; i += 7)
    for (int64_t j = 0; j < 64; j += 5) {
      double dot = 0;
      for (int64_t k = 0; k < 64; ++k) dot += double(q.f32()[k * 64 + i]) * q.f32()[k * 64 + j];
      CHECK(dot == doctest::Approx(i == j ? 1.0 : 0.0).epsilon(1e-4).scale(1.0));
    }
  Tensor w(DType::F32, {256, 256});
  initialize(w, "lecun_normal", 1.0, rng);
  double var = 0;
  for (int64_t i = 0; i < w.size(); ++i) var += double(w.f32()[i]) * w.f32()[i];
  var /= double(w.size());
  CHECK(var == doctest::Approx(1.0 / 256).epsilon(0.05));
  float maxAbs = 0;
  for (int64_t i = 0; i < w.size(); ++i) maxAbs = std::max(maxAbs, std::abs(w.f32()[i]));
  CHECK(maxAbs <= float(2.0 / std::sqrt(256.0) / 0.87962566103423978) + 1e-6f);  // truncated at two std
}

TEST_CASE("layers, the light level: names by position, widths from the input, state carried by scan") {
  Graph g;
  Builder b(g);
  Value tokens = b.input("X", DType::I32, {4, 3});
  std::vector<Value> xs = nn::Embed(b, 28, 8)(tokens);
  std::vector<Value> hs = nn::Stack(nn::LSTM(b, 16), 2).scan(xs);
  nn::Dense head(b, 28);
  Value logits = head(nn::timeMajor(hs));
  Value again = head(nn::timeMajor(hs));  // the same layer applied twice shares its params
  b.output("logits", logits);
  b.output("again", again);
  verify(g);
  auto type = [&](const std::string& name) { return str(g.type(g.findValue(name))); };
  CHECK(type("embed0.table") == "f32[28,8]");
  CHECK(type("lstm0.ii.kernel") == "f32[8,16]");   // the width of the embedding
  CHECK(type("lstm1.ii.kernel") == "f32[16,16]");  // the width of the layer below
  CHECK(type("dense0.kernel") == "f32[16,28]");
  CHECK(g.findValue("dense1.kernel") < 0);
  CHECK(type("lstm1.c") == "f32[4,16]");
  CHECK(g.updates.size() == 4);  // (h, c) of two layers
  CHECK(str(g.type(logits.id())) == "f32[12,28]");
  // Named layers keep their names; a second unnamed one of a kind takes the next position.
  nn::Dense(b, 5, "head")(hs.back());
  nn::Dense(b, 5)(hs.back());
  CHECK(g.findValue("head.kernel") >= 0);
  CHECK(g.findValue("dense1.kernel") >= 0);
  CHECK_THROWS_WITH_AS(nn::Stack<nn::RNN>(nn::RNN(b, 4), 0), "nn::Stack needs at least one layer", Error);
}

TEST_CASE("layers: name scopes keep two blocks' layers apart, and a model's error names the model, scope and operands") {
  Graph g;
  Builder b(g);
  Value x = b.input("x", DType::F32, {4, 8});
  Value y;
  for (int i = 0; i < 2; ++i) {
    Builder::Scope block(b, "block" + std::to_string(i));
    Builder::Scope mlp(b, "mlp");
    y = nn::Dense(b, 8)(nn::Dense(b, 8)(i == 0 ? x : y));  // dense0, dense1 in each
  }
  for (const char* name : {"block0.mlp.dense0.kernel", "block0.mlp.dense1.bias", "block1.mlp.dense0.kernel",
                           "block1.mlp.dense1.kernel"})
    CHECK(g.findValue(name) >= 0);
  CHECK(b.scoped("w") == "w");  // the scopes ended with their blocks
  CHECK_THROWS_WITH_AS(Builder::Scope(b, "a.b"), doctest::Contains("without '.'"), Error);

  ModelDef broken{"broken", "a width mistake inside a block", 16,
                  [](Builder& b, Value tokens, const ModelConfig& c) {
                    Value h = nn::timeMajor(nn::RNN(b, c.hidden).scan(nn::oneHotSteps(tokens, c.vocab)));
                    Builder::Scope head(b, "head");
                    Value w = b.param("w", {c.hidden + 1, c.vocab}, Init::lecunNormal());
                    failingLine = __LINE__ + 1;
                    return matmul(h, w);
                  },
                  false};
  ModelConfig c;
  c.hidden = 8;
  c.vocab = 5;
  c.batchSize = 2;
  c.numSteps = 3;
  CHECK_THROWS_WITH_AS(buildModelGraph(broken, c),
                       doctest::Contains("model 'broken' (in scope 'head') at "), Error);
  CHECK_THROWS_WITH_AS(buildModelGraph(broken, c), doctest::Contains("%head.w : f32[9,5]"), Error);
  // The model's own line, where its code called the builder.
  CHECK_THROWS_WITH_AS(buildModelGraph(broken, c),
                       doctest::Contains(fmt::format("(in scope 'head') at {}:{}: builder", __FILE__, failingLine).c_str()), Error);

  // A layer's error is located at the model's call of the layer, not inside the layer's code.
  ModelDef cube{"cube", "a 3-d input to a dense layer", 16,
                [](Builder& b, Value tokens, const ModelConfig& c) {
                  Value h = nn::timeMajor(nn::RNN(b, c.hidden).scan(nn::oneHotSteps(tokens, c.vocab)));
                  Value h3 = reshape(h, {c.numSteps, c.batchSize, c.hidden});
                  failingLine = __LINE__ + 1;
                  return nn::Dense(b, c.vocab)(h3);
                },
                false};
  CHECK_THROWS_AS(buildModelGraph(cube, c), Error);  // sets failingLine, which the next check's message reads
  CHECK_THROWS_WITH_AS(buildModelGraph(cube, c),
                       doctest::Contains(fmt::format("model 'cube' at {}:{}: nn::Dense", __FILE__, failingLine).c_str()), Error);
}
