// tests/ScheduleTests.cpp — learning-rate schedules at given steps, and the
// training step's weight decay (weights and embeddings, not biases; adamw
// decoupled) and scheduled rate, against the update written out by hand.
#include <cmath>

#include "TestUtil.h"
#include "graph/Builder.h"
#include "graph/Verifier.h"
#include "passes/TrainStep.h"
#include "runtime/Interpreter.h"
#include "runtime/Schedule.h"

using namespace graphc;

TEST_CASE("schedules: inverse-time, warm-up, cosine and plateau at given steps") {
  ScheduleConfig inv;
  inv.kind = "inverse-time";
  inv.decayRate = 1e-3;
  CHECK(learningRateAt(inv, 0.5, 0) == 0.5);
  CHECK(learningRateAt(inv, 0.5, 1000) == doctest::Approx(0.25));
  ScheduleConfig cos;
  cos.kind = "cosine";
  cos.warmup = 10;
  cos.minLr = 0.1;
  cos.totalSteps = 100;
  CHECK(learningRateAt(cos, 1.0, 0) == doctest::Approx(0.1));   // warm-up: (t + 1) / warmup
  CHECK(learningRateAt(cos, 1.0, 4) == doctest::Approx(0.5));
  CHECK(learningRateAt(cos, 1.0, 10) == doctest::Approx(1.0));  // the cosine starts at the top
  CHECK(learningRateAt(cos, 1.0, 60) == doctest::Approx(0.55));  // half way: the mean of top and floor
  CHECK(learningRateAt(cos, 1.0, 110) == doctest::Approx(0.1));
  CHECK(learningRateAt(cos, 1.0, 5000) == doctest::Approx(0.1));
  ScheduleConfig plateau;
  plateau.kind = "plateau";
  CHECK(learningRateAt(plateau, 2.0, 77, 0.25) == 0.5);
  CHECK(learningRateAt(ScheduleConfig{}, 2.0, 77, 0.25) == 2.0);  // constant ignores the scale

  auto refused = [](ScheduleConfig c, const char* what) {
    CHECK_THROWS_WITH_AS(validate(c, 1.0), doctest::Contains(what), Error);
  };
  ScheduleConfig bad;
  bad.kind = "inverse-time";
  refused(bad, "--lr-decay-rate");
  bad = {};
  bad.kind = "sometimes";
  refused(bad, "--lr-schedule: 'sometimes'");
  bad = {};
  bad.factor = 1.5;
  refused(bad, "--lr-factor 1.5");
  bad = {};
  bad.minLr = 2;
  refused(bad, "--min-lr 2");
  bad = {};
  bad.warmup = -1;
  refused(bad, "--warmup -1");
}

namespace {

// loss = sum(W * X) + sum(b): dW = X, db = 1. One step of the optimizer.
TensorMap oneStep(const OptimizerConfig& c, float lrInput) {
  Graph g;
  Builder b(g);
  Value x = b.input("X", DType::F32, {2, 2});
  Value w = b.param("W", {2, 2});
  Value bias = b.param("b", {2});
  b.output("logits", w * x);
  b.output("loss", reduceSum(w * x, {0, 1}) + reduceSum(bias, {0}));
  appendTrainingStep(g, c);
  CHECK(g.findOutput("logits") < 0);  // the step does not copy its logits out
  verify(g);
  TensorMap vars = {{"X", Tensor::f32({2, 2}, {1, 2, 3, 4})}, {"W", Tensor::f32({2, 2}, {1, -1, 0.5, 2})},
                    {"b", Tensor::f32({2}, {1, 1})}};
  if (c.learningRateInput) vars["lr"] = Tensor::f32({}, {lrInput});
  for (const Node& n : g.nodes)
    if (n.op == OpKind::State) vars[n.name] = Tensor(n.type);
  Interpreter(g).run(vars);
  return vars;
}

}  // namespace

TEST_CASE("weight decay: L2 on weights (not biases) for sgd; decoupled for adamw; the rate from the input lr") {
  OptimizerConfig sgd;
  sgd.learningRate = 0.1;
  sgd.clipNorm = 0;
  sgd.weightDecay = 0.5;
  TensorMap out = oneStep(sgd, 0);
  const float w0[4] = {1, -1, 0.5, 2}, x[4] = {1, 2, 3, 4};
  for (int i = 0; i < 4; ++i) CHECK(out.at("W").f32()[i] == doctest::Approx(w0[i] - 0.1 * (x[i] + 0.5 * w0[i])));
  CHECK(out.at("b").f32()[0] == doctest::Approx(1 - 0.1));  // no decay on a bias

  sgd.learningRateInput = true;  // the same step with the rate given as the input "lr"
  TensorMap fromInput = oneStep(sgd, 0.1f);
  for (int i = 0; i < 4; ++i) CHECK(fromInput.at("W").f32()[i] == out.at("W").f32()[i]);

  OptimizerConfig adamw;
  adamw.kind = "adamw";
  adamw.learningRate = 0.01;
  adamw.clipNorm = 0;
  adamw.weightDecay = 0.1;
  TensorMap a = oneStep(adamw, 0);
  // The first Adam step moves by lr * sign(g) (m/sqrt(v) = 1); adamw adds lr * wd * p.
  for (int i = 0; i < 4; ++i)
    CHECK(a.at("W").f32()[i] == doctest::Approx(w0[i] - 0.01 * (1 + 0.1 * w0[i])).epsilon(1e-4));
  CHECK(a.at("b").f32()[0] == doctest::Approx(1 - 0.01).epsilon(1e-4));
  OptimizerConfig negative;
  negative.weightDecay = -1;
  CHECK_THROWS_WITH_AS(validate(negative), doctest::Contains("weight decay"), Error);
}
