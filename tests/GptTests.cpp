// tests/GptTests.cpp — the gpt model: gradients against finite differences,
// the one-step graph with its KV cache against the whole-sequence model, the
// JIT against the interpreter, the attention kernels against a plain loop,
// and the settings it refuses.
#include <cmath>
#include <fmt/format.h>
#include <random>
#include <vector>

#include "GradientCheck.h"
#include "TestUtil.h"
#include "kernels/attention.h"
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

TEST_CASE("attention kernels: forward and backward against a double-precision loop") {
  // Query blocks of 4 with a last one short (t 13, 70), keys past one block of 64 (t 70), head widths
  // off the vector lanes (5, 20), causal and not.
  struct Case {
    int64_t t, d;
    int32_t causal;
  };
  for (Case c : {Case{3, 5, 1}, Case{13, 20, 1}, Case{70, 32, 1}, Case{70, 16, 0}, Case{9, 8, 0}}) {
    INFO("t " << c.t << " d " << c.d << " causal " << c.causal);
    const int64_t entries = 2, t = c.t, d = c.d, n = entries * t * d;
    const float scale = 1.0f / std::sqrt(float(d));
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    std::vector<float> q(n), k(n), v(n), dy(size_t(entries * t * (d + 1)));
    for (auto* x : {&q, &k, &v, &dy})
      for (float& e : *x) e = normal(rng);
    std::vector<float> out(dy.size()), grads(size_t(3 * n));
    REQUIRE(graphc_attention_forward(q.data(), k.data(), v.data(), out.data(), 0, entries, t, d, scale, c.causal) == 0);
    REQUIRE(graphc_attention_backward(q.data(), k.data(), v.data(), out.data(), dy.data(), grads.data(), entries, 0,
                                      entries, t, d, scale, c.causal) == 0);
    for (int64_t e = 0; e < entries; ++e) {
      auto at = [&](const std::vector<float>& m, int64_t row, int64_t col) { return double(m[size_t((e * t + row) * d + col)]); };
      std::vector<double> dq(size_t(t * d)), dk(size_t(t * d)), dv(size_t(t * d));
      for (int64_t i = 0; i < t; ++i) {
        const int64_t keys = c.causal ? i + 1 : t;
        std::vector<double> s(static_cast<size_t>(keys), 0.0), dp(static_cast<size_t>(keys), 0.0);
        double mx = -INFINITY, sum = 0, delta = 0;
        for (int64_t j = 0; j < keys; ++j) {
          for (int64_t x = 0; x < d; ++x) s[size_t(j)] += at(q, i, x) * at(k, j, x);
          s[size_t(j)] *= scale;
          mx = std::max(mx, s[size_t(j)]);
        }
        for (int64_t j = 0; j < keys; ++j) sum += std::exp(s[size_t(j)] - mx);
        const float* row = out.data() + (e * t + i) * (d + 1);
        const float* drow = dy.data() + (e * t + i) * (d + 1);
        CHECK(std::abs(row[d] - (mx + std::log(sum))) <= 1e-4 * (1 + std::abs(mx)));
        for (int64_t x = 0; x < d; ++x) {
          double y = 0;
          for (int64_t j = 0; j < keys; ++j) y += std::exp(s[size_t(j)] - mx) / sum * at(v, j, x);
          CHECK(std::abs(row[x] - y) <= 1e-4 * (1 + std::abs(y)));
          delta += drow[x] * y;
        }
        delta -= drow[d];  // the logsumexp's own gradient
        for (int64_t j = 0; j < keys; ++j) {
          const double p = std::exp(s[size_t(j)] - mx) / sum;
          for (int64_t x = 0; x < d; ++x) dp[size_t(j)] += drow[x] * at(v, j, x);
          const double ds = p * (dp[size_t(j)] - delta) * scale;
          for (int64_t x = 0; x < d; ++x) {
            dv[size_t(j * d + x)] += p * drow[x];
            dq[size_t(i * d + x)] += ds * at(k, j, x);
            dk[size_t(j * d + x)] += ds * at(q, i, x);
          }
        }
      }
      for (int64_t w = 0; w < 3; ++w)
        for (int64_t x = 0; x < t * d; ++x) {
          const double want = (w == 0 ? dq : w == 1 ? dk : dv)[size_t(x)];
          CHECK(std::abs(grads[size_t(w * n + e * t * d + x)] - want) <= 2e-4 * (1 + std::abs(want)));
        }
    }
  }
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
