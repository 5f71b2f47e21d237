// tests/AutodiffTests.cpp — every gradient rule against central finite differences.
#include <cmath>
#include <fmt/format.h>
#include <functional>

#include "GradientCheck.h"
#include "TestUtil.h"
#include "graph/Builder.h"
#include "graph/Verifier.h"
#include "models/Model.h"
#include "passes/Autodiff.h"
#include "passes/PassManager.h"
#include "passes/TrainStep.h"

using namespace graphc;
using namespace graphc::test;

namespace {

Tensor i32(Shape s, std::vector<int32_t> v) { return Tensor::i32(std::move(s), std::move(v)); }

}  // namespace

TEST_CASE("gradients of elementwise ops") {
  Lcg r{1};
  Shape s = {3, 4};
  auto two = [&](double lo, double hi) { return std::vector<Tensor>{spaced(s, lo, hi, r), spaced(s, lo, hi, r)}; };
  checkGradients("add", [](Builder&, auto& v) { return v[0] + v[1]; }, two(-1, 1));
  checkGradients("sub", [](Builder&, auto& v) { return v[0] - v[1]; }, two(-1, 1));
  checkGradients("mul", [](Builder&, auto& v) { return v[0] * v[1]; }, two(-1, 1));
  checkGradients("div", [](Builder&, auto& v) { return v[0] / v[1]; }, two(0.5, 2));
  checkGradients("maximum", [](Builder&, auto& v) { return maximum(v[0], v[1] + 0.013); }, two(-1, 1));
  checkGradients("minimum", [](Builder&, auto& v) { return minimum(v[0], v[1] + 0.013); }, two(-1, 1));
  checkGradients("select", [](Builder&, auto& v) { return select(compare(v[0], v[1] + 0.013, "gt"), v[0] * v[0], v[1]); },
                 two(-1, 1));
  std::vector<Tensor> one = {spaced(s, -2, 2, r)};
  checkGradients("neg", [](Builder&, auto& v) { return -v[0]; }, one);
  checkGradients("exp", [](Builder&, auto& v) { return exp(v[0]); }, one, {2e-3, 2e-2});
  checkGradients("tanh", [](Builder&, auto& v) { return tanh(v[0]); }, one);
  checkGradients("sigmoid", [](Builder&, auto& v) { return sigmoid(v[0]); }, one);
  checkGradients("relu", [](Builder&, auto& v) { return relu(v[0]); }, one);
  std::vector<Tensor> pos = {spaced(s, 0.5, 3, r)};
  checkGradients("log", [](Builder&, auto& v) { return log(v[0]); }, pos, {2e-3, 2e-2});
  checkGradients("sqrt", [](Builder&, auto& v) { return sqrt(v[0]); }, pos);
  checkGradients("convert", [](Builder&, auto& v) { return convert(v[0], DType::F32) * 2.0; }, one);
}

TEST_CASE("gradients of matmul in every transpose form") {
  Lcg r{2};
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Shape sa = ta ? Shape{4, 3} : Shape{3, 4}, sb = tb ? Shape{5, 4} : Shape{4, 5};
      checkGradients(fmt::format("matmul ta={} tb={}", ta, tb),
                     [=](Builder&, auto& v) { return matmul(v[0], v[1], ta, tb); },
                     {spaced(sa, -1, 1, r), spaced(sb, -1, 1, r)});
    }
}

TEST_CASE("gradients of reductions") {
  Lcg r{3};
  std::vector<Tensor> x = {spaced({2, 3, 4}, -1, 1, r)};
  checkGradients("reduce_sum axis 1", [](Builder&, auto& v) { return reduceSum(v[0], {1}); }, x);
  checkGradients("reduce_sum all", [](Builder&, auto& v) { return reduceSum(v[0], {0, 1, 2}); }, x);
  checkGradients("reduce_mean axes 0,2", [](Builder&, auto& v) { return reduceMean(v[0], {0, 2}); }, x);
  checkGradients("reduce_max axis 2", [](Builder&, auto& v) { return reduceMax(v[0], {2}); }, x);
}

TEST_CASE("gradients of data movement") {
  Lcg r{4};
  std::vector<Tensor> x = {spaced({2, 3}, -1, 1, r)};
  checkGradients("broadcast", [](Builder&, auto& v) { return broadcastTo(v[0], {4, 2, 3}); }, x);
  checkGradients("broadcast of ones", [](Builder&, auto& v) { return broadcastTo(reshape(v[0], {2, 1, 3}), {2, 5, 3}); }, x);
  checkGradients("reshape", [](Builder&, auto& v) { return reshape(v[0], {3, 2}); }, x);
  checkGradients("transpose", [](Builder&, auto& v) { return transpose(v[0], {1, 0}); }, x);
  checkGradients("slice", [](Builder&, auto& v) { return slice(v[0], {1, 0}, {2, 2}); }, x);
  checkGradients("pad", [](Builder&, auto& v) { return pad(v[0], {1, 0}, {2, 1}); }, x);
  checkGradients("concat", [](Builder&, auto& v) { return concat({v[0], v[1], v[0]}, 1); },
                 {x[0], spaced({2, 2}, -1, 1, r)});
}

TEST_CASE("gradients of token ops and the loss") {
  Lcg r{5};
  Tensor idx = i32({4}, {2, 0, 2, 1});
  checkGradients("gather", [](Builder&, auto& v) { return gather(v[0], v[1]); }, {spaced({3, 2}, -1, 1, r), idx});
  checkGradients("scatter_add", [](Builder&, auto& v) { return scatterAdd(v[0], v[1], 3); },
                 {spaced({4, 2}, -1, 1, r), idx});
  checkGradients("one_hot times a matrix", [](Builder&, auto& v) { return matmul(oneHot(v[1], 3), v[0]); },
                 {spaced({3, 2}, -1, 1, r), idx});
  checkGradients("log_softmax", [](Builder&, auto& v) { return logSoftmax(v[0]); }, {spaced({3, 4}, -2, 2, r)});
  checkGradients("softmax_cross_entropy", [](Builder&, auto& v) { return softmaxCrossEntropy(v[0], v[1]); },
                 {spaced({4, 3}, -2, 2, r), idx});
}

TEST_CASE("gradient of the whole rnn-scratch loss, params and initial state") {
  ModelConfig c{2, 3, 4, 28, 1};
  Graph g = buildModelGraph(findModel("rnn-scratch"), c);
  Lcg r{6};
  TensorMap vars;
  for (const Node& n : g.nodes) {
    if (n.op == OpKind::Input) {
      Tensor t(n.type);
      for (int64_t k = 0; k < t.size(); ++k) t.i32()[k] = int32_t(r.uniform(0, 27.99));
      vars[n.name] = t;
    } else if (n.op == OpKind::Param || n.op == OpKind::State) {
      vars[n.name] = spaced(n.type.shape, -0.8, 0.8, r);
    }
  }
  checkParamGradients(std::move(g), vars, 3, {"H"});
}

TEST_CASE("autodiff refuses a non-scalar loss and integer wrt") {
  Graph g;
  Builder b(g);
  Value x = b.input("x", DType::F32, {2});
  Value k = b.input("k", DType::I32, {2});
  CHECK_THROWS_WITH_AS(appendGradients(g, x.id(), {x.id()}), "autodiff: the loss %x must be f32[], got f32[2]", Error);
  Value s = reduceSum(x, {0});
  CHECK_THROWS_WITH_AS(appendGradients(g, s.id(), {k.id()}),
                       "autodiff: cannot differentiate with respect to the integer value %k", Error);
}

namespace {

// A one-param graph: loss = sum(w * x), so grad w = x.
Graph linearGraph(const OptimizerConfig& c) {
  Graph g;
  Builder b(g);
  Value x = b.input("x", DType::F32, {2});
  Value w = b.param("w", {2});
  b.output("loss", reduceSum(w * x, {0}));
  appendTrainingStep(g, c);
  verify(g);
  return g;
}

}  // namespace

TEST_CASE("training step: clipping bounds the global norm") {
  OptimizerConfig c;
  c.learningRate = 1.0;
  c.clipNorm = 1.0;
  Graph g = linearGraph(c);
  TensorMap vars{{"x", Tensor::f32({2}, {3, 4})}, {"w", Tensor::f32({2}, {0, 0})}};
  auto out = Interpreter(g).run(vars);
  CHECK(out.at("grad_norm").item() == doctest::Approx(5.0));
  // Clipped gradient (3,4)/5; one SGD step of rate 1.
  CHECK(vars.at("w").f32()[0] == doctest::Approx(-0.6));
  CHECK(vars.at("w").f32()[1] == doctest::Approx(-0.8));
  // A gradient already inside the limit is untouched.
  TensorMap small{{"x", Tensor::f32({2}, {0.3f, 0.4f})}, {"w", Tensor::f32({2}, {0, 0})}};
  Interpreter(g).run(small);
  CHECK(small.at("w").f32()[0] == doctest::Approx(-0.3));
}

TEST_CASE("training step: momentum and adam follow their formulas") {
  OptimizerConfig m;
  m.kind = "momentum";
  m.learningRate = 0.1;
  m.momentum = 0.5;
  m.clipNorm = 0;
  Graph gm = linearGraph(m);
  TensorMap vars{{"x", Tensor::f32({2}, {1, 2})}, {"w", Tensor::f32({2}, {0, 0})}, {"w.velocity", Tensor::f32({2}, {0, 0})}};
  Interpreter im(gm);
  im.run(vars);  // v = g, w = -0.1 g
  im.run(vars);  // v = 1.5 g, w = -0.25 g
  CHECK(vars.at("w").f32()[1] == doctest::Approx(-0.5));

  OptimizerConfig a;
  a.kind = "adam";
  a.learningRate = 0.01;
  a.clipNorm = 0;
  Graph ga = linearGraph(a);
  TensorMap av{{"x", Tensor::f32({2}, {1, -2})}, {"w", Tensor::f32({2}, {0, 0})}, {"w.m", Tensor(DType::F32, {2})},
               {"w.v", Tensor(DType::F32, {2})}, {"adam.step", Tensor(DType::F32, {})}};
  Interpreter ia(ga);
  ia.run(av);
  ia.run(av);
  // A constant gradient: every Adam step moves by lr * g/|g| (up to eps).
  CHECK(av.at("w").f32()[0] == doctest::Approx(-0.02).epsilon(1e-4));
  CHECK(av.at("w").f32()[1] == doctest::Approx(0.02).epsilon(1e-4));
  CHECK(av.at("adam.step").item() == 2.0f);
  // The first step is lr * g / (|g| + eps) to float precision: the bias corrections 1 - beta^t
  // are exact to a few ulps (1 - 0.999 in f32 arithmetic was 1.3e-5 off).
  TensorMap first{{"x", Tensor::f32({2}, {1, -2})}, {"w", Tensor::f32({2}, {0, 0})}, {"w.m", Tensor(DType::F32, {2})},
                  {"w.v", Tensor(DType::F32, {2})}, {"adam.step", Tensor(DType::F32, {})}};
  ia.run(first);
  CHECK(std::abs(first.at("w").f32()[0] / -0.01 - 1) < 1e-6);
  CHECK(std::abs(first.at("w").f32()[1] / 0.01 - 1) < 1e-6);
  OptimizerConfig bad;
  bad.learningRate = -1;
  CHECK_THROWS_WITH_AS(validate(bad), "the learning rate must be positive, got -1", Error);
}
