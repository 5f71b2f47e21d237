// tests/LinearCrossEntropyTests.cpp — fuse-linear-cross-entropy on a word
// model: the fused graph (one linear_cross_entropy_train) holds no rows x V
// value, and its loss and gradients are the unfused graph's to float rounding
// on the JIT, at V = 28 and at a word vocabulary, over one and several blocks
// of rows, and the fused op to the bit on one thread and on two; and the
// kernel against the textbook layer in double where its shortcut cannot hold.
#include <cmath>
#include <cstring>
#include <vector>
#include <fmt/format.h>

#include "GradientCheck.h"
#include "TestUtil.h"
#include "codegen/CompiledProducts.h"
#include "kernels/runtime_kernels.h"
#include "kernels/team.h"
#include "models/Model.h"
#include "passes/Autodiff.h"
#include "passes/Passes.h"
#include "runtime/JitEngine.h"
#include "runtime/Random.h"
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

void checkFusedAgainstUnfused(int64_t batch, int64_t steps, int64_t vocab, bool tied) {
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
  for (const auto& [name, w] : want) {
    INFO(name);
    double scale = 0;
    for (int64_t i = 0; i < w.size(); ++i) scale = std::max(scale, double(std::abs(w.f32()[i])));
    for (int64_t i = 0; i < w.size(); ++i)
      CHECK(std::abs(got.at(name).f32()[i] - w.f32()[i]) <= 1e-6 + 1e-5 * scale);
  }
}

}  // namespace

TEST_CASE("fuse-linear-cross-entropy: d2l's vocabulary, one block: the loss and gradients to rounding") {
  checkFusedAgainstUnfused(4, 5, 28, false);
}

TEST_CASE("fuse-linear-cross-entropy: a word vocabulary in one and in several blocks of rows, and a tied layer") {
  checkFusedAgainstUnfused(2, 35, 18000, false);  // 70 x 18000 logits: one block of rows
  checkFusedAgainstUnfused(8, 70, 18000, false);  // 560 rows: two blocks (30 MiB of logits each at most)
  checkFusedAgainstUnfused(2, 8, 3000, true);     // w is the embedding table [V, K]: transpose_b
  checkFusedAgainstUnfused(8, 70, 18000, true);   // tied, two blocks: dw and db added over them
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

namespace {

// linear_cross_entropy_train's loss, dx, dw and db (its flat result) in double, the textbook way.
std::vector<double> referenceLayer(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                                   const std::vector<int32_t>& y, double dloss, int64_t n, int64_t k, int64_t v,
                                   bool tied) {
  std::vector<double> out(size_t(n + n * k + k * v + v));
  double *loss = out.data(), *dx = loss + n, *dw = dx + n * k, *db = dw + k * v;
  auto wAt = [&](int64_t kk, int64_t j) { return double(tied ? w[size_t(j * k + kk)] : w[size_t(kk * v + j)]); };
  std::vector<double> z(static_cast<size_t>(v));
  for (int64_t r = 0; r < n; ++r) {
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < v; ++j) {
      z[size_t(j)] = b[size_t(j)];
      for (int64_t kk = 0; kk < k; ++kk) z[size_t(j)] += double(x[size_t(r * k + kk)]) * wAt(kk, j);
      mx = std::max(mx, z[size_t(j)]);
    }
    for (int64_t j = 0; j < v; ++j) sum += std::exp(z[size_t(j)] - mx);
    const double lse = mx + std::log(sum);
    loss[r] = lse - z[size_t(y[size_t(r)])];
    for (int64_t j = 0; j < v; ++j) {
      const double g = dloss * (std::exp(z[size_t(j)] - lse) - (j == y[size_t(r)] ? 1 : 0));
      db[j] += g;
      for (int64_t kk = 0; kk < k; ++kk) {
        dx[r * k + kk] += g * wAt(kk, j);
        (tied ? dw[j * k + kk] : dw[kk * v + j]) += g * double(x[size_t(r * k + kk)]);
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("linear_cross_entropy_train: rows whose logits rise far above their first columns' are made exactly") {
  // The kernel shifts a row's exponentials by the largest of its first columns' logits; a logit 100
  // above that (row 3, and 80 and 120 in rows 5 and 17) is past its headroom (40) and the row is made
  // again the exact way (the three by one product), one about 30 above (row 9) is not: its
  // exponentials reach e^30. All against the textbook layer in double, tied and not, on 1 and 2
  // threads.
  const ProductKernels& kernels = compiledProductKernels(hostTarget());
  const int64_t n = 24, k = 8, v = 1500;
  for (bool tied : {false, true}) {
    INFO("tied " << tied);
    Rng rng(11);
    std::vector<float> x(size_t(n * k)), w(size_t(k * v)), b(static_cast<size_t>(v));
    std::vector<int32_t> y(static_cast<size_t>(n));
    for (float& e : x) e = float(rng.uniform() - 0.5);
    for (float& e : w) e = float(rng.uniform() - 0.5);
    for (float& e : b) e = float(0.1 * (rng.uniform() - 0.5));
    for (int64_t r = 0; r < n; ++r) y[size_t(r)] = int32_t((r * 577) % v);
    for (int64_t r = 0; r < n; ++r) x[size_t(r * k)] = x[size_t(r * k + 1)] = 0;
    auto wRef = [&](int64_t kk, int64_t j) -> float& { return tied ? w[size_t(j * k + kk)] : w[size_t(kk * v + j)]; };
    for (int64_t j = 0; j < v; ++j) wRef(0, j) = wRef(1, j) = 0;
    x[size_t(3 * k)] = 1, wRef(0, 1200) = 100;  // row 3: column 1200 100 above the rest
    x[size_t(5 * k)] = 0.8f, x[size_t(17 * k)] = 1.2f;  // rows 5 and 17: 80 and 120 above
    x[size_t(9 * k + 1)] = 1, wRef(1, 1000) = 30;  // row 9: column 1000 about 30 above
    y[3] = 7, y[9] = 1000;
    const double dloss = 1.0 / double(n);
    std::vector<float> dlosses(static_cast<size_t>(n), static_cast<float>(dloss));
    const std::vector<double> want = referenceLayer(x, w, b, y, dloss, n, k, v, tied);
    std::vector<float> first;
    for (int threads : {1, 2}) {
      graphc_team_set_threads(threads);
      std::vector<float> got(want.size());
      graphc_rt_linear_cross_entropy_train(x.data(), w.data(), b.data(), y.data(), dlosses.data(), got.data(), n, k, v,
                                           tied, &kernels);
      for (int64_t r : {3, 5, 17}) CHECK(std::abs(got[size_t(r)] - want[size_t(r)]) <= 1e-4 * std::abs(want[size_t(r)]));
      CHECK(std::abs(got[9] - want[9]) <= 1e-5);
      const int64_t parts[] = {0, n, n + n * k, n + n * k + k * v, n + n * k + k * v + v};  // loss, dx, dw, db
      for (int part = 0; part < 4; ++part) {
        INFO("part " << part << " of loss, dx, dw, db");
        double scale = 0;
        for (int64_t i = parts[part]; i < parts[part + 1]; ++i) scale = std::max(scale, std::abs(want[size_t(i)]));
        int64_t off = 0;
        for (int64_t i = parts[part]; i < parts[part + 1]; ++i)
          off += std::abs(double(got[size_t(i)]) - want[size_t(i)]) > 1e-6 + 1e-5 * scale;
        CHECK(off == 0);
      }
      if (threads == 1) first = got;
      else CHECK(std::memcmp(first.data(), got.data(), got.size() * sizeof(float)) == 0);
    }
    graphc_team_set_threads(1);
  }
}
