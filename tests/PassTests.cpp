// tests/PassTests.cpp — each pass, text IR in and checked text IR out.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "TestUtil.h"
#include "graph/Builder.h"
#include "passes/PassManager.h"
#include "passes/Passes.h"
#include "runtime/Random.h"

using namespace graphc;

namespace {

// Binds each named f32 input of `g` to uniform values in [-1, 1).
void bindUniform(const Graph& g, std::initializer_list<const char*> names, Rng& rng, TensorMap& in) {
  for (const char* name : names) {
    Tensor t(g.type(g.findValue(name)));
    for (int64_t i = 0; i < t.size(); ++i) t.f32()[i] = float(rng.uniform() * 2 - 1);
    in[name] = t;
  }
}

// The outputs of `before` and `after` on the same inputs, on the interpreter.
std::pair<TensorMap, TensorMap> runBoth(const Graph& before, const Graph& after, const TensorMap& in) {
  TensorMap v1 = in, v2 = in;
  return {Interpreter(before).run(v1), Interpreter(after).run(v2)};
}

}  // namespace

TEST_CASE("pass manager: unknown pass, print-after, timing") {
  PassManager pm;
  CHECK_THROWS_WITH_AS(pm.addPipeline("dce,frob"), "unknown pass 'frob' (known: dce, cse, fold, autodiff, data-parallel, train-step, simplify, fuse-attention, fuse-linear-cross-entropy, onehot-gather, batch-matmul, merge-products, concat-grid, pack-weights, hoist-params, pack-params, share-concats, fuse, plan)", Error);
  std::ostringstream printed;
  PassManagerOptions o;
  o.printAfter = {"cse"};
  o.printStream = &printed;
  PassManager pm2(o);
  pm2.addPipeline("dce,cse");
  Graph g = parseGraph("graph @g {\n  %x = input : f32[2]\n  output \"x\" = %x\n}\n");
  pm2.run(g);
  CHECK_IR(printed.str(), "CHECK: IR after cse\nCHECK-NEXT: graph @g {\nCHECK-COUNT-0: IR after dce");
  REQUIRE(pm2.timings().size() == 2);
  CHECK(pm2.timings()[0].pass == "dce");
  std::ostringstream report;
  pm2.printTimings(report);
  CHECK_IR(report.str(), "CHECK: dce\nCHECK: cse\nCHECK: total");
}

TEST_CASE("verify-after-each names the pass that broke the graph") {
  class Breaker : public Pass {
   public:
    std::string name() const override { return "breaker"; }
    std::string description() const override { return "changes a type"; }
    bool run(Graph& g) override {
      g.node(1).type.shape = {3};
      return true;
    }
  };
  PassManager pm;
  pm.add(std::make_unique<Breaker>());
  Graph g = parseGraph("graph @g {\n  %x = input : f32[2]\n  %y = tanh(%x) : f32[2]\n  output \"y\" = %y\n}\n", "b.gir");
  CHECK_THROWS_WITH_AS(pm.run(g), "after pass 'breaker': b.gir:3:3: error: %y: declared type f32[3] but 'tanh' gives f32[2]",
                       Error);
}

TEST_CASE("batch-matmul: results are unchanged, and a product used twice is left alone") {
  const char* text = R"(graph @g {
  %a1 = input : f32[3,5]
  %a2 = input : f32[3,4]
  %w1 = input : f32[5,3]
  %w2 = input : f32[4,3]
  %m1 = matmul(%a1, %w1) : f32[3,3]
  %m2 = matmul(%a2, %w2) : f32[3,3]
  %s = add(%m1, %m2) : f32[3,3]
  %m3 = matmul(%a1, %w1) : f32[3,3]
  %t = add(%s, %m3) : f32[3,3]
  %u = tanh(%m3) : f32[3,3]
  output "t" = %t
  output "u" = %u
})";
  Graph g = parseGraph(text);
  Graph before = g;
  PassManager pm;
  pm.addPipeline("batch-matmul");
  pm.run(g);
  CHECK(g.nodesOf(OpKind::Concat).size() == 2);  // m1 and m2 merge along K (5 + 4); m3 has another use
  TensorMap vars;
  Rng rng(2);
  for (const Node& n : before.nodes)
    if (n.op == OpKind::Input) {
      Tensor t(n.type);
      for (int64_t i = 0; i < t.size(); ++i) t.f32()[i] = float(rng.uniform() - 0.5);
      vars[n.name] = t;
    }
  TensorMap v2 = vars;
  auto a = Interpreter(before).run(vars), b = Interpreter(g).run(v2);
  for (int64_t i = 0; i < a.at("t").size(); ++i) CHECK(b.at("t").f32()[i] == doctest::Approx(a.at("t").f32()[i]).epsilon(1e-6));
}

TEST_CASE("pass options: parsed, typed and checked against what each pass takes") {
  auto specs = parsePipeline("dce,pack-weights{panel-width=32},train-step{optimizer=adam, lr=0.001},fuse");
  REQUIRE(specs.size() == 4);
  CHECK(specs[1].options.getInt("panel-width", 0) == 32);
  CHECK(specs[2].options.getString("optimizer", "") == "adam");
  CHECK(specs[2].options.getDouble("lr", 0) == 0.001);
  PassManager pm;
  CHECK_THROWS_WITH_AS(pm.addPipeline("pack-weights{width=32}"),
                       "pass 'pack-weights' has no option 'width' (known: panel-width)", Error);
  CHECK_THROWS_WITH_AS(pm.addPipeline("dce{x=1}"), "pass 'dce' takes no options, got 'x'", Error);
  CHECK_THROWS_WITH_AS(pm.addPipeline("fuse,pack-weights{panel-width=32"),
                       "pipeline 'fuse,pack-weights{panel-width=32': '{' without '}'", Error);
  CHECK_THROWS_WITH_AS(pm.addPipeline("pack-weights{panel-width}"),
                       "pass 'pack-weights': option 'panel-width' is not key=value", Error);
  CHECK_THROWS_WITH_AS(pm.addPipeline("train-step{optimizer=rmsprop}"), doctest::Contains("rmsprop"), Error);
  CHECK_THROWS_WITH_AS(pm.addPipeline("pack-weights{panel-width=x}"),
                       "pass 'pack-weights': option panel-width must be an integer, got 'x'", Error);
  CHECK_THROWS_WITH_AS(pm.addPipeline("pack-weights{panel-width=0}"),
                       "pass 'pack-weights': panel-width must be in 1..256, got 0", Error);
}

TEST_CASE("train-step: plain SGD keeps no optimizer state") {
  const char* ir = R"(graph @g {
  %x = input : f32[3,4]
  %w = param : f32[4,2]
  %y = matmul(%x, %w) : f32[3,2]
  %l = reduce_sum(%y) {axes = [0, 1]} : f32[]
  output "loss" = %l
})";
  // The IR of adam's step: tests/passes/train-step-adam.gir.
  std::string sgd = graphc::test::runPipeline(ir, "train-step");
  CHECK(sgd.find("role = \"optimizer\"") == std::string::npos);
}

TEST_CASE("pack-weights: packed products compute what the products did") {
  const char* ir = R"(graph @g {
  %a = input : f32[7,21]
  %b = input : f32[21,7]
  %w = input : f32[21,35]
  %m1 = matmul(%a, %w) : f32[7,35]
  %m2 = matmul(%b, %w) {transpose_a = 1} : f32[7,35]
  %m3 = matmul(%m1, %w) {transpose_b = 1} : f32[7,21]
  %m4 = matmul(%m2, %w) {transpose_b = 1} : f32[7,21]
  output "m1" = %m1
  output "m2" = %m2
  output "m3" = %m3
  output "m4" = %m4
})";
  Graph before = parseGraph(ir, "packed.ir");
  Graph after = parseGraph(ir, "packed.ir");
  PassManager pm;
  pm.addPipeline("pack-weights");
  pm.run(after);
  CHECK(after.nodesOf(OpKind::PackedMatMul).size() == 4);
  TensorMap in;
  Rng rng(3);
  bindUniform(before, {"a", "b", "w"}, rng, in);
  auto [ref, got] = runBoth(before, after, in);
  for (const char* name : {"m1", "m2", "m3", "m4"})
    for (int64_t i = 0; i < ref.at(name).size(); ++i)
      REQUIRE(got.at(name).f32()[i] == doctest::Approx(ref.at(name).f32()[i]).epsilon(1e-5));
}

TEST_CASE("onehot-gather: one-hot products become gathers and scatter-adds, out-of-range rows still zero") {
  const char* ir = R"(graph @g {
  %i = input : i32[5]
  %w = input : f32[4,3]
  %d = input : f32[5,3]
  %x = one_hot(%i) {depth = 4} : f32[5,4]
  %y = matmul(%x, %w) : f32[5,3]
  %gw = matmul(%x, %d) {transpose_a = 1} : f32[4,3]
  output "y" = %y
  output "gw" = %gw
})";
  std::string out = graphc::test::runPipeline(ir, "onehot-gather");  // its IR: tests/passes/onehot-gather.gir
  Graph before = parseGraph(ir), after = parseGraph(out);
  Rng rng(5);
  TensorMap in;
  Tensor idx(DType::I32, {5});
  const int32_t indices[] = {2, -1, 0, 4, 2};  // -1 and 4 are out of range: zero rows, dropped updates
  std::copy(std::begin(indices), std::end(indices), idx.i32());
  in["i"] = idx;
  bindUniform(before, {"w", "d"}, rng, in);
  auto [ref, got] = runBoth(before, after, in);
  CHECK(got.at("y").f32Vector() == ref.at("y").f32Vector());
  for (int64_t k = 0; k < ref.at("gw").size(); ++k)
    CHECK(got.at("gw").f32()[k] == doctest::Approx(ref.at("gw").f32()[k]).epsilon(1e-6));
}

TEST_CASE("batch-matmul: a 60,000-add chain is walked without recursion") {
  Graph g;
  Builder b(g);
  Value x = b.input("x", DType::F32, {1, 1});
  Value w = b.input("w", DType::F32, {1, 1});
  Value s = matmul(x, w);
  for (int i = 0; i < 60000; ++i) s = s + (i % 2 ? matmul(x, w) : x);
  b.output("s", s);
  PassManagerOptions o;
  o.verifyEach = false;
  PassManager pm(o);
  pm.addPipeline("batch-matmul");
  pm.run(g);  // used to overflow the stack (one frame per add)
  CHECK(g.nodesOf(OpKind::MatMul).size() == 1);
}

TEST_CASE("concat-grid: the grid laid out by steps gives the same bits, and a grid of params is left alone") {
  // The pass's text test, read from beside this file (CMake compiles it by its absolute path).
  std::ifstream file(std::filesystem::path(__FILE__).parent_path() / "passes" / "concat-grid.gir");
  REQUIRE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  Graph before = parseGraph(text.str(), "concat-grid.gir");
  Graph after = before;
  PassManager pm;
  pm.addPipeline("concat-grid");
  pm.run(after);
  REQUIRE(after.nodesOf(OpKind::ScatterAdd).size() == 1);
  TensorMap in;
  Rng rng(5);
  bindUniform(before, {"u", "v", "h", "wa", "wb"}, rng, in);
  Tensor idx(before.type(before.findValue("i")));
  for (int64_t r = 0; r < idx.size(); ++r) idx.i32()[r] = int32_t((r * 3) % 4);  // rows 0 and 3 hit twice
  in["i"] = idx;
  auto [ref, got] = runBoth(before, after, in);
  // Data movement and per-column sums only; each step's product adds its two
  // gates in the other order, so it is compared to rounding.
  for (const char* name : {"dw", "s", "r"})
    for (int64_t k = 0; k < ref.at(name).size(); ++k) REQUIRE(got.at(name).f32()[k] == ref.at(name).f32()[k]);
  for (const char* name : {"d2", "d3"})
    for (int64_t k = 0; k < ref.at(name).size(); ++k)
      REQUIRE(got.at(name).f32()[k] == doctest::Approx(ref.at(name).f32()[k]).epsilon(1e-6));
  // Params as blocks (a stacked layer's weights, gate by gate) stay as they are.
  Graph params = parseGraph(R"(graph @p {
  %x = input : f32[2,4]
  %a1 = param : f32[2,3]
  %a2 = param : f32[2,3]
  %b1 = param : f32[2,3]
  %b2 = param : f32[2,3]
  %ga = concat(%a1, %a2) {axis = 0} : f32[4,3]
  %gb = concat(%b1, %b2) {axis = 0} : f32[4,3]
  %w = concat(%ga, %gb) {axis = 1} : f32[4,6]
  %y = matmul(%x, %w) : f32[2,6]
  output "y" = %y
})");
  CHECK_FALSE(interchangeConcatGrids(params));
}
