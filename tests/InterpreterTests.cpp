// tests/InterpreterTests.cpp — every op on the reference interpreter against
// values computed by hand.
#include <cmath>
#include <fmt/format.h>
#include <functional>

#include "TestUtil.h"
#include "graph/Builder.h"
#include "graph/Verifier.h"

using namespace graphc;

namespace {

using BuildFn = std::function<Value(Builder&, const std::vector<Value>&)>;

// Builds out = fn(inputs...), round-trips it through the text IR, runs it.
Tensor eval(const BuildFn& fn, const std::vector<Tensor>& args) {
  Graph g;
  Builder b(g);
  std::vector<Value> in;
  TensorMap vars;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = fmt::format("a{}", i);
    in.push_back(b.input(name, args[i].dtype(), args[i].shape()));
    vars[name] = args[i];
  }
  b.output("out", fn(b, in));
  verify(g);
  Graph parsed = parseGraph(printGraph(g));
  CHECK(printGraph(parsed) == printGraph(g));
  return Interpreter(parsed).run(vars).at("out");
}

void checkValues(const Tensor& t, const Shape& shape, const std::vector<double>& expected, double tol = 1e-6) {
  REQUIRE(t.shape() == shape);
  REQUIRE(size_t(t.size()) == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(t.at(int64_t(i)) == doctest::Approx(expected[i]).epsilon(tol));
  }
}

Tensor f(Shape s, std::vector<float> v) { return Tensor::f32(std::move(s), std::move(v)); }
Tensor i(Shape s, std::vector<int32_t> v) { return Tensor::i32(std::move(s), std::move(v)); }

}  // namespace

TEST_CASE("elementwise binary ops") {
  Tensor a = f({2, 2}, {1, -2, 3, 4}), b = f({2, 2}, {2, 2, -1, 8});
  auto with = [&](BuildFn fn) { return eval(fn, {a, b}); };
  checkValues(with([](Builder&, auto& v) { return v[0] + v[1]; }), {2, 2}, {3, 0, 2, 12});
  checkValues(with([](Builder&, auto& v) { return v[0] - v[1]; }), {2, 2}, {-1, -4, 4, -4});
  checkValues(with([](Builder&, auto& v) { return v[0] * v[1]; }), {2, 2}, {2, -4, -3, 32});
  checkValues(with([](Builder&, auto& v) { return v[0] / v[1]; }), {2, 2}, {0.5, -1, -3, 0.5});
  checkValues(with([](Builder&, auto& v) { return maximum(v[0], v[1]); }), {2, 2}, {2, 2, 3, 8});
  checkValues(with([](Builder&, auto& v) { return minimum(v[0], v[1]); }), {2, 2}, {1, -2, -1, 4});
  checkValues(with([](Builder&, auto& v) { return compare(v[0], v[1], "lt"); }), {2, 2}, {1, 1, 0, 1});
  checkValues(with([](Builder&, auto& v) { return compare(v[0], v[1], "ge"); }), {2, 2}, {0, 0, 1, 0});
  checkValues(with([](Builder&, auto& v) { return select(compare(v[0], v[1], "gt"), v[0], v[1]); }), {2, 2},
              {2, 2, 3, 8});
}

TEST_CASE("integer arithmetic and convert") {
  Tensor a = i({3}, {7, -7, 5}), b = i({3}, {2, 2, 0});
  checkValues(eval([](Builder&, auto& v) { return v[0] + v[1]; }, {a, b}), {3}, {9, -5, 5});
  checkValues(eval([](Builder&, auto& v) { return v[0] / v[1]; }, {a, b}), {3}, {3, -3, 0});
  checkValues(eval([](Builder&, auto& v) { return convert(v[0], DType::F32) * 0.5; }, {a}), {3}, {3.5, -3.5, 2.5});
  checkValues(eval([](Builder&, auto& v) { return convert(v[0], DType::I32); }, {f({2}, {2.7f, -2.7f})}), {2}, {2, -2});
}

TEST_CASE("elementwise unary ops") {
  Tensor a = f({4}, {-1, 0, 0.5, 2});
  auto un = [&](BuildFn fn) { return eval(fn, {a}); };
  checkValues(un([](Builder&, auto& v) { return -v[0]; }), {4}, {1, 0, -0.5, -2});
  checkValues(un([](Builder&, auto& v) { return exp(v[0]); }), {4}, {std::exp(-1.0), 1, std::exp(0.5), std::exp(2.0)});
  checkValues(un([](Builder&, auto& v) { return tanh(v[0]); }), {4}, {std::tanh(-1.0), 0, std::tanh(0.5), std::tanh(2.0)});
  checkValues(un([](Builder&, auto& v) { return sigmoid(v[0]); }), {4},
              {1 / (1 + std::exp(1.0)), 0.5, 1 / (1 + std::exp(-0.5)), 1 / (1 + std::exp(-2.0))});
  checkValues(un([](Builder&, auto& v) { return relu(v[0]); }), {4}, {0, 0, 0.5, 2});
  Tensor p = f({3}, {1, 4, 0.25});
  checkValues(eval([](Builder&, auto& v) { return log(v[0]); }, {p}), {3}, {0, std::log(4.0), std::log(0.25)});
  checkValues(eval([](Builder&, auto& v) { return sqrt(v[0]); }, {p}), {3}, {1, 2, 0.5});
}

TEST_CASE("matmul in every transpose form") {
  Tensor a = f({2, 3}, {1, 2, 3, 4, 5, 6});      // A
  Tensor bt = f({2, 3}, {1, 0, 1, 0, 1, 1});     // B^T, B = [[1,0],[0,1],[1,1]]
  Tensor b = f({3, 2}, {1, 0, 0, 1, 1, 1});
  Tensor at = f({3, 2}, {1, 4, 2, 5, 3, 6});
  std::vector<double> expected = {4, 5, 10, 11};  // A B
  checkValues(eval([](Builder&, auto& v) { return matmul(v[0], v[1]); }, {a, b}), {2, 2}, expected);
  checkValues(eval([](Builder&, auto& v) { return matmul(v[0], v[1], false, true); }, {a, bt}), {2, 2}, expected);
  checkValues(eval([](Builder&, auto& v) { return matmul(v[0], v[1], true, false); }, {at, b}), {2, 2}, expected);
  checkValues(eval([](Builder&, auto& v) { return matmul(v[0], v[1], true, true); }, {at, bt}), {2, 2}, expected);
}

TEST_CASE("reductions and argmax") {
  Tensor a = f({2, 3}, {1, 5, 3, -4, 2, 0});
  checkValues(eval([](Builder&, auto& v) { return reduceSum(v[0], {1}); }, {a}), {2}, {9, -2});
  checkValues(eval([](Builder&, auto& v) { return reduceSum(v[0], {0}); }, {a}), {3}, {-3, 7, 3});
  checkValues(eval([](Builder&, auto& v) { return reduceSum(v[0], {0, 1}); }, {a}), {}, {7});
  checkValues(eval([](Builder&, auto& v) { return reduceMean(v[0], {1}); }, {a}), {2}, {3, -2.0 / 3});
  checkValues(eval([](Builder&, auto& v) { return reduceMax(v[0], {1}); }, {a}), {2}, {5, 2});
  checkValues(eval([](Builder&, auto& v) { return reduceMax(v[0], {0}); }, {a}), {3}, {1, 5, 3});
  checkValues(eval([](Builder&, auto& v) { return argmax(v[0], 1); }, {a}), {2}, {1, 1});
  checkValues(eval([](Builder&, auto& v) { return argmax(v[0], 0); }, {a}), {3}, {0, 0, 0});
}

TEST_CASE("data movement") {
  Tensor a = f({2, 3}, {1, 2, 3, 4, 5, 6});
  checkValues(eval([](Builder&, auto& v) { return broadcastTo(v[0], {2, 2, 3}); }, {a}), {2, 2, 3},
              {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6});
  checkValues(eval([](Builder&, auto& v) { return broadcastTo(v[0], {3, 2}); }, {f({3, 1}, {1, 2, 3})}), {3, 2},
              {1, 1, 2, 2, 3, 3});
  checkValues(eval([](Builder&, auto& v) { return reshape(v[0], {3, 2}); }, {a}), {3, 2}, {1, 2, 3, 4, 5, 6});
  checkValues(eval([](Builder&, auto& v) { return transpose(v[0], {1, 0}); }, {a}), {3, 2}, {1, 4, 2, 5, 3, 6});
  checkValues(eval([](Builder&, auto& v) { return slice(v[0], {0, 1}, {2, 3}); }, {a}), {2, 2}, {2, 3, 5, 6});
  checkValues(eval([](Builder&, auto& v) { return pad(v[0], {1, 0}, {0, 1}); }, {a}), {3, 4},
              {0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0});
  checkValues(eval([](Builder&, auto& v) { return concat({v[0], v[1]}, 0); }, {a, f({1, 3}, {7, 8, 9})}), {3, 3},
              {1, 2, 3, 4, 5, 6, 7, 8, 9});
  checkValues(eval([](Builder&, auto& v) { return concat({v[0], v[1]}, 1); }, {a, f({2, 1}, {7, 8})}), {2, 4},
              {1, 2, 3, 7, 4, 5, 6, 8});
}

TEST_CASE("token ops and the loss") {
  Tensor idx = i({3}, {2, 0, 1});
  checkValues(eval([](Builder&, auto& v) { return oneHot(v[0], 3); }, {idx}), {3, 3}, {0, 0, 1, 1, 0, 0, 0, 1, 0});
  Tensor table = f({3, 2}, {1, 2, 3, 4, 5, 6});
  checkValues(eval([](Builder&, auto& v) { return gather(v[0], v[1]); }, {table, idx}), {3, 2}, {5, 6, 1, 2, 3, 4});
  Tensor upd = f({3, 2}, {1, 1, 2, 2, 3, 3});
  checkValues(eval([](Builder&, auto& v) { return scatterAdd(v[0], v[1], 4); }, {upd, i({3}, {1, 1, 3})}), {4, 2},
              {0, 0, 3, 3, 0, 0, 3, 3});
  Tensor logits = f({2, 3}, {1, 2, 3, 0, 0, 0});
  double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)), lse1 = std::log(3.0);
  checkValues(eval([](Builder&, auto& v) { return logSoftmax(v[0]); }, {logits}), {2, 3},
              {1 - lse0, 2 - lse0, 3 - lse0, -lse1, -lse1, -lse1});
  checkValues(eval([](Builder&, auto& v) { return softmaxCrossEntropy(v[0], v[1]); }, {logits, i({2}, {2, 0})}), {2},
              {lse0 - 3, lse1});
}

TEST_CASE("constants, params and state updates") {
  Graph g;
  Builder b(g);
  Value w = b.param("w", {2}, Init::normal(1.0));
  Value s = b.state("s", {2});
  b.update(s, s + w * 2.0);
  b.output("sum", reduceSum(s, {0}));
  TensorMap vars{{"w", f({2}, {1, 2})}, {"s", f({2}, {0, 0})}};
  Interpreter interp(g);
  CHECK(interp.run(vars).at("sum").item() == 0.0f);
  CHECK(interp.run(vars).at("sum").item() == 6.0f);  // the update of the first run is visible
  checkValues(vars.at("s"), {2}, {4, 8});
}

TEST_CASE("interpreter errors name the value") {
  Graph g;
  Builder b(g);
  Value t = b.input("t", DType::F32, {3, 2});
  Value k = b.input("k", DType::I32, {1});
  b.output("g", gather(t, k));
  Interpreter interp(g);
  TensorMap missing{{"t", Tensor(DType::F32, {3, 2})}};
  CHECK_THROWS_WITH_AS(interp.run(missing), "no value bound for input %k", Error);
  TensorMap wrongShape{{"t", Tensor(DType::F32, {2, 2})}, {"k", i({1}, {0})}};
  CHECK_THROWS_WITH_AS(interp.run(wrongShape), "input %t expects f32[3,2], got f32[2,2]", Error);
  TensorMap outOfRange{{"t", Tensor(DType::F32, {3, 2})}, {"k", i({1}, {3})}};
  CHECK_THROWS_AS(interp.run(outOfRange), Error);
}
