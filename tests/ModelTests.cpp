// tests/ModelTests.cpp — the seed model's forward graph.
#include <cmath>

#include "TestUtil.h"
#include "graph/Verifier.h"
#include "models/Model.h"
#include "runtime/ModelContract.h"
#include "passes/PassManager.h"

using namespace graphc;

TEST_CASE("rnn-scratch: signature and output shapes") {
  ModelConfig c;
  Graph g = buildModelGraph(findModel("rnn-scratch"), c);
  verify(g);
  CHECK(g.type(g.output("logits")) == TensorType{DType::F32, {35 * 32, 28}});
  CHECK(g.type(g.output("loss")) == TensorType{DType::F32, {}});
  CHECK(g.nodesOf(OpKind::Param).size() == 5);
  REQUIRE(g.updates.size() == 1);
  CHECK(g.node(g.updates[0].target).name == "H");
  CHECK(g.nodesOf(OpKind::MatMul).size() == 35 * 2 + 1);  // per step x W_xh and h W_hh; one output product
}

TEST_CASE("rnn-scratch: with zero weights the loss is log(vocab)") {
  ModelConfig c{4, 3, 8, 28, 1};
  Graph g = buildModelGraph(findModel("rnn-scratch"), c);
  TensorMap vars;
  for (const Node& n : g.nodes)
    if (n.op == OpKind::Param || n.op == OpKind::State || n.op == OpKind::Input) vars[n.name] = Tensor(n.type);
  auto out = Interpreter(g).run(vars);
  CHECK(out.at("loss").item() == doctest::Approx(std::log(28.0)).epsilon(1e-6));
}

TEST_CASE("rnn-scratch: simplify keeps the result and shrinks the graph") {
  ModelConfig c{4, 5, 8, 28, 1};
  Graph g = buildModelGraph(findModel("rnn-scratch"), c);
  TensorMap vars;
  uint32_t seed = 1;
  for (const Node& n : g.nodes) {
    if (n.op != OpKind::Param && n.op != OpKind::State && n.op != OpKind::Input) continue;
    Tensor t(n.type);
    for (int64_t k = 0; k < t.size(); ++k) {
      seed = seed * 1664525u + 1013904223u;
      if (t.dtype() == DType::F32) t.f32()[k] = float(int(seed >> 16) % 200 - 100) / 100.0f;
      else t.i32()[k] = int32_t((seed >> 16) % 28);
    }
    vars[n.name] = t;
  }
  TensorMap vars2 = vars;
  float before = Interpreter(g).run(vars).at("loss").item();
  size_t nodesBefore = g.size();
  PassManager pm;
  pm.addPipeline("simplify");
  pm.run(g);
  CHECK(g.size() < nodesBefore);
  CHECK(Interpreter(g).run(vars2).at("loss").item() == before);
  CHECK(vars.at("H").f32Vector() == vars2.at("H").f32Vector());
}

TEST_CASE("unknown model and bad sizes are refused") {
  // The built-ins first; test models other cases register may follow.
  CHECK_THROWS_WITH_AS(findModel("transformer"),
                       doctest::Contains("unknown model 'transformer' (known: rnn-scratch, rnn, gru, lstm, nplm, lstm-lm, gru-lm, gpt"),
                       Error);
  ModelConfig c;
  c.batchSize = 0;
  CHECK_THROWS_WITH_AS(buildModelGraph(findModel("rnn-scratch"), c), "batch size must be in 1..16777216, got 0", Error);
}

TEST_CASE("models: a build that returns no value, or a model too large to hold, is refused up front") {
  ModelDef empty{"empty", "returns nothing", 8, [](Builder&, Value, const ModelConfig&) { return Value(); }};
  CHECK_THROWS_WITH_AS(buildModelGraph(empty, ModelConfig{}), "model 'empty' returned no value for its logits", Error);
  CHECK_THROWS_WITH_AS(buildStepGraph(empty, ModelConfig{}), "model 'empty' returned no value for its logits", Error);
  ModelConfig huge{1, 1, 16384, 28, 16};
  CHECK_THROWS_WITH_AS(buildStepGraph(findModel("lstm"), huge), doctest::Contains("GiB of parameters, more than the 4 GiB"),
                       Error);
}

TEST_CASE("model contract: every built-in model's logits are time-major and causal on the reference interpreter") {
  for (const ModelDef& m : allModels()) {
    if (!isBuiltinModel(m.name)) continue;
    ModelConfig c = withModelDefaults(m, configWithModelDefaults());
    c.hidden = std::min<int64_t>(c.hidden, 16);
    c.vocab = 11;
    INFO(m.name);
    CHECK_NOTHROW(checkLogitsOrder(m, c));
  }
}

TEST_CASE("model contract: batch-major logits and logits of another shape are refused, saying what was found") {
  const ModelDef& lstm = findModel("lstm");
  ModelDef batchMajor = lstm;
  batchMajor.name = "batch-major";
  batchMajor.build = [&lstm](Builder& b, Value tokens, const ModelConfig& c) {
    Value timeMajor = lstm.build(b, tokens, c);  // [T*B, V]
    Value steps = reshape(timeMajor, {c.numSteps, c.batchSize, c.vocab});
    return reshape(transpose(steps, {1, 0, 2}), {c.batchSize * c.numSteps, c.vocab});
  };
  ModelConfig c = withModelDefaults(lstm, configWithModelDefaults());
  c.hidden = 8;
  c.vocab = 11;
  CHECK_THROWS_WITH_AS(checkLogitsOrder(batchMajor, c),
                       doctest::Contains("model 'batch-major': its logits are not in time-major order"), Error);
  ModelDef wide = lstm;
  wide.name = "wide";
  wide.build = [&lstm](Builder& b, Value tokens, const ModelConfig& c) {
    ModelConfig more = c;
    more.vocab = c.vocab + 1;
    return lstm.build(b, tokens, more);
  };
  CHECK_THROWS_WITH_AS(buildModelGraph(wide, c), doctest::Contains("model 'wide': its logits are f32[1120,12]; they must be f32[1120,11]"), Error);
}
