// tests/GptTests.cpp — the gpt model: gradients against finite differences,
// the one-step graph with its KV cache against the whole-sequence model, the
// JIT against the interpreter, and the settings it refuses.
#include <cmath>
#include <fmt/format.h>

#include "GradientCheck.h"
#include "TestUtil.h"
#include "models/Model.h"
#include "passes/Autodiff.h"
#include "passes/Passes.h"
#include "runtime/Initializers.h"
#include "runtime/Interpreter.h"
#include "runtime/JitEngine.h"

using namespace graphc;

namespace {

ModelConfig smallGpt(int64_t batch, int64_t steps, std::map<std::string, double> settings = {{"heads", 2}, {"context", 5}}) {
  ModelConfig c;
  c.batchSize = batch;
  c.numSteps = steps;
  c.hidden = 8;
  c.vocab = 7;
  c.numLayers = 2;
  c.settings = std::move(settings);
  return withModelDefaults(findModel("gpt"), c);
}

}  // namespace

TEST_CASE("gpt: the gradient of every parameter matches finite differences") {
  ModelConfig c = smallGpt(2, 3);
  Graph g = buildModelGraph(findModel("gpt"), c);
  Rng rng(11);
  TensorMap vars = test::randomModelVars(g, rng, 2, 3, 6);
  test::checkParamGradients(std::move(g), vars, 5);
}

TEST_CASE("gpt: the one-step graph with its KV cache gives the whole-sequence logits, position by position") {
  const int64_t batch = 2, steps = 5;
  ModelConfig c = smallGpt(batch, steps);
  Graph forward = buildModelGraph(findModel("gpt"), c);
  Graph step = buildStepGraph(findModel("gpt"), c);
  CHECK(step.nodesOf(OpKind::State).size() == 2 * 2 + 1);  // k and v per layer, the position count
  Rng rng(5);
  TensorMap vars = test::randomModelVars(forward, rng, batch, steps, 6);
  for (auto& [name, t] : vars)  // larger weights than N(0, 0.02), so attention is far from uniform
    if (t.dtype() == DType::F32) initialize(t, "uniform", 0.8, rng);
  Tensor whole = Interpreter(forward).run(vars).at("logits");  // [steps*batch, vocab], time-major
  for (bool jit : {false, true}) {
    INFO((jit ? "jit" : "interpreter"));
    TensorMap state = zeroState(step);
    for (const auto& [name, t] : vars)
      if (name != "X" && name != "Y") state[name] = t;
    JitEngine* engine = nullptr;
    std::unique_ptr<JitEngine> owned;
    if (jit) owned = std::make_unique<JitEngine>(step, JitOptions{std::string(GRAPHC_SCRATCH_DIR) + "/test-jit-cache", true});
    engine = owned.get();
    Interpreter interp(step);
    for (int64_t t = 0; t < steps; ++t) {
      Tensor x(DType::I32, {batch, 1});
      for (int64_t r = 0; r < batch; ++r) x.i32()[r] = vars.at("X").i32()[r * steps + t];
      state["X"] = x;
      Tensor logits = jit ? engine->run(state).at("logits") : interp.run(state).at("logits");
      for (int64_t i = 0; i < batch * c.vocab; ++i) {
        INFO("position " << t << ", element " << i);
        CHECK(logits.f32()[i] == doctest::Approx(whole.f32()[t * batch * c.vocab + i]).epsilon(1e-4));
      }
    }
  }
}

TEST_CASE("gpt: the JIT trains as the interpreter does") {
  ModelConfig c = smallGpt(2, 4);
  Graph g = buildModelGraph(findModel("gpt"), c);
  Rng rng(3);
  TensorMap vars = test::randomModelVars(g, rng, 2, 4, 6);
  TensorMap v1 = vars, v2 = vars;
  double want = Interpreter(g).run(v1).at("loss").item();
  JitEngine jit(g, {std::string(GRAPHC_SCRATCH_DIR) + "/test-jit-cache", true});
  CHECK(jit.run(v2).at("loss").item() == doctest::Approx(want).epsilon(1e-5));
}

TEST_CASE("gpt: heads that do not divide the width, or steps past the context, are refused by name") {
  const ModelDef& gpt = findModel("gpt");
  CHECK_THROWS_WITH_AS(buildModelGraph(gpt, smallGpt(2, 3, {{"heads", 3}})),
                       doctest::Contains("--set heads=3: the heads must divide the embedding width --hidden 8"), Error);
  CHECK_THROWS_WITH_AS(buildModelGraph(gpt, smallGpt(2, 6, {{"context", 5}})),
                       doctest::Contains("--num-steps 6: longer than the model's context 5"), Error);
  CHECK_NOTHROW(buildStepGraph(gpt, smallGpt(2, 6, {{"context", 5}})));  // generation goes past it, the cache rolls
}

TEST_CASE("gpt: fused attention gives the unfused model's loss and gradients, on the interpreter and the JIT") {
  ModelConfig c = smallGpt(2, 5);
  Graph unfused = buildModelGraph(findModel("gpt"), c);
  std::vector<ValueId> params = unfused.nodesOf(OpKind::Param);
  Graph fused = unfused;
  REQUIRE(fuseAttention(fused));
  CHECK(fused.nodesOf(OpKind::Attention).size() == 2);  // one per layer
  CHECK(fused.nodesOf(OpKind::LogSoftmax).empty());      // the loss is softmax_cross_entropy
  Rng rng(9);
  TensorMap vars = test::randomModelVars(unfused, rng, 2, 5, 6);
  for (auto& [name, t] : vars)
    if (t.dtype() == DType::F32) initialize(t, "uniform", 0.8, rng);
  auto withGradients = [&](Graph g) {
    std::vector<ValueId> wrt;
    for (ValueId p : params) wrt.push_back(g.findValue(unfused.node(p).name));
    auto grads = appendGradients(g, g.output("loss"), wrt);
    for (size_t i = 0; i < grads.size(); ++i) g.setOutput(fmt::format("grad{}", i), grads[i]);
    return g;
  };
  Graph a = withGradients(unfused), b = withGradients(fused);
  CHECK(b.nodesOf(OpKind::AttentionGrad).size() == 2);
  TensorMap va = vars, vb = vars, vc = vars;
  TensorMap want = Interpreter(a).run(va);
  TensorMap interp = Interpreter(b).run(vb);
  JitEngine jit(b, {std::string(GRAPHC_SCRATCH_DIR) + "/test-jit-cache", true});
  TensorMap compiled = jit.run(vc);
  for (const auto& [name, w] : want) {
    INFO(name);
    for (const TensorMap* got : {&interp, &compiled})
      for (int64_t i = 0; i < w.size(); ++i)
        CHECK(std::abs(got->at(name).f32()[i] - w.f32()[i]) <= 2e-5 + 1e-4 * std::abs(w.f32()[i]));
  }
}
