// tests/LinearCrossEntropyTests.cpp — fuse-linear-cross-entropy on a word
// model: the fused graph (one linear_cross_entropy_train) holds no rows x V
// value, and its loss and gradients are the unfused graph's to float rounding
// on the JIT (the loss to the bit when the rows' logits are one block), at
// V = 28 and at a word vocabulary, over one and several blocks of rows, and
// the fused op to the bit on one thread and on two.
#include <cmath>
#include <cstring>
#include <fmt/format.h>

#include "GradientCheck.h"
#include "TestUtil.h"
#include "models/Model.h"
#include "passes/Autodiff.h"
#include "passes/Passes.h"
#include "runtime/JitEngine.h"
#include "runtime/Threads.h"

using namespace graphc;

namespace {

// lstm-lm's loss and the gradient of every param, as the training step has
// them before the optimizer: the logits are not an output.
Graph lossAndGradients(int64_t batch, int64_t steps, int64_t vocab, bool tied) {
  ModelConfig c;
  c.batchSize = batch;
  c.numSteps = steps;
  c.hidden = 8;
  c.vocab = vocab;
  c.numLayers = 1;
  if (tied) c.settings = {{"tie", 1}};
  Graph g = buildModelGraph(findModel("lstm-lm"), withModelDefaults(findModel("lstm-lm"), c));
  std::erase_if(g.outputs, [](const GraphOutput& o) { return o.name == "logits"; });
  auto grads = appendGradients(g, g.output("loss"), g.nodesOf(OpKind::Param));
  for (size_t i = 0; i < grads.size(); ++i) g.setOutput(fmt::format("grad{}", i), grads[i]);
  simplify(g);
  return g;
}

bool holdsLogits(const Graph& g, int64_t rows, int64_t vocab) {
  for (const Node& n : g.nodes)
    if (n.type.shape == Shape{rows, vocab}) return true;
  return false;
}

void checkFusedAgainstUnfused(int64_t batch, int64_t steps, int64_t vocab, bool tied, bool lossToTheBit) {
  const int64_t rows = batch * steps;
  Graph unfused = lossAndGradients(batch, steps, vocab, tied);
  Graph fused = unfused;
  CHECK_FALSE(fuseLinearCrossEntropy(fused, int64_t(rows * vocab * 4) + 1));  // below the size asked for: untouched
  REQUIRE(fuseLinearCrossEntropy(fused, 0));
  CHECK(fused.nodesOf(OpKind::LinearCrossEntropyTrain).size() == 1);
  CHECK(fused.nodesOf(OpKind::LinearCrossEntropy).empty());
  CHECK(fused.nodesOf(OpKind::LinearCrossEntropyGrad).empty());
  CHECK(holdsLogits(unfused, rows, vocab));
  CHECK_FALSE(holdsLogits(fused, rows, vocab));
  CHECK(fused.nodesOf(OpKind::LogSoftmax).empty());
  Rng rng(5);
  TensorMap vars = test::randomModelVars(unfused, rng, batch, steps, vocab - 1);
  // Logits spread over several units, so a row's maximum stands out.
  for (const char* spread : {"output.kernel", "embed.table"})
    if (vars.count(spread))
      for (float& x : vars.at(spread).f32Vector()) x *= 8.0f;
  TensorMap va = vars, vb = vars;
  const std::string cache = std::string(GRAPHC_SCRATCH_DIR) + "/test-jit-cache";
  TensorMap want = JitEngine(unfused, {cache, true}).run(va);
  JitEngine fusedEngine(fused, {cache, true});
  runtime::setThreads(1);
  TensorMap got = fusedEngine.run(vb);
  // The same bits on two threads: every sum in the op (the bias gradient's groups of rows, dw's
  // blocks) has an order fixed by the shapes.
  runtime::setThreads(2);
  TensorMap vc = vars;
  TensorMap two = fusedEngine.run(vc);
  runtime::setThreads(0);
  for (const auto& [name, t] : got) {
    INFO(name << " on two threads");
    CHECK(std::memcmp(t.f32(), two.at(name).f32(), size_t(t.size()) * sizeof(float)) == 0);
  }
  if (lossToTheBit) CHECK(got.at("loss").item() == want.at("loss").item());
  for (const auto& [name, w] : want) {
    INFO(name);
    double scale = 0;
    for (int64_t i = 0; i < w.size(); ++i) scale = std::max(scale, double(std::abs(w.f32()[i])));
    for (int64_t i = 0; i < w.size(); ++i)
      CHECK(std::abs(got.at(name).f32()[i] - w.f32()[i]) <= 1e-6 + 1e-5 * scale);
  }
}

}  // namespace

TEST_CASE("fuse-linear-cross-entropy: d2l's vocabulary, one block: the loss to the bit, gradients to rounding") {
  checkFusedAgainstUnfused(4, 5, 28, false, true);
}

TEST_CASE("fuse-linear-cross-entropy: a word vocabulary in one and in several blocks of rows, and a tied layer") {
  checkFusedAgainstUnfused(2, 35, 18000, false, true);  // 70 x 18000 logits: one block of rows
  checkFusedAgainstUnfused(8, 70, 18000, false, true);  // 560 rows: two blocks (30 MiB of logits each at most)
  checkFusedAgainstUnfused(2, 8, 3000, true, false);    // w is the embedding table [V, K]: transpose_b
}

TEST_CASE("fuse-linear-cross-entropy: a layer whose logits are also an output stays unfused") {
  ModelConfig c;
  c.batchSize = 2;
  c.numSteps = 3;
  c.hidden = 8;
  c.vocab = 50;
  Graph g = buildModelGraph(findModel("lstm-lm"), withModelDefaults(findModel("lstm-lm"), c));
  CHECK_FALSE(fuseLinearCrossEntropy(g, 0));
}

TEST_CASE("fused output layer kernels: a label outside the vocabulary is reported after the run, not a crash") {
  for (OpKind op : {OpKind::LinearCrossEntropy, OpKind::LinearCrossEntropyGrad, OpKind::LinearCrossEntropyTrain}) {
    INFO(opName(op));
    Graph g;
    Builder b(g);
    Value x = b.input("x", DType::F32, {2, 3}), w = b.input("w", DType::F32, {3, 4}),
          bias = b.input("b", DType::F32, {4}), y = b.input("y", DType::I32, {2});
    Value s = b.constant(0.5, {2});
    if (op == OpKind::LinearCrossEntropy) b.output("out", b.op(op, {x, w, bias, y}));
    if (op == OpKind::LinearCrossEntropyGrad)
      b.output("out", b.op(op, {x, w, bias, y, b.op(OpKind::LinearCrossEntropy, {x, w, bias, y}), s}));
    if (op == OpKind::LinearCrossEntropyTrain) b.output("out", b.op(op, {x, w, bias, y, s}));
    JitEngine jit(g, {std::string(GRAPHC_SCRATCH_DIR) + "/test-jit-cache", true});
    TensorMap vars{{"x", Tensor(DType::F32, {2, 3})}, {"w", Tensor(DType::F32, {3, 4})}, {"b", Tensor(DType::F32, {4})},
                   {"y", Tensor::i32({2}, {1, 4})}};
    CHECK_THROWS_WITH_AS(jit.run(vars), doctest::Contains("label 4 out of range [0, 4)"), Error);
    vars["y"] = Tensor::i32({2}, {1, 3});
    CHECK_NOTHROW(jit.run(vars));
  }
}
