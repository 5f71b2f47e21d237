// tests/OpTableTests.cpp — every op in graph/Op.def, checked end to end: the
// interpreter against the JIT on random inputs, and (where the op is
// differentiable) its gradient rule against central finite differences.
// sampleFor() switches over OpKind with no default, so an op added to Op.def
// does not compile until it has a sample here, and then it is tested on every
// engine: an op cannot be half-added.
#include <cmath>
#include <fmt/format.h>

#include "GradientCheck.h"
#include "TestUtil.h"
#include "graph/Builder.h"
#include "graph/Verifier.h"
#include "passes/PassManager.h"
#include "runtime/Initializers.h"
#include "runtime/Interpreter.h"
#include "runtime/JitEngine.h"
#include "runtime/Random.h"

using namespace graphc;
using namespace graphc::test;

namespace {

using Build = std::function<Value(Builder&, const std::vector<Value>&)>;

struct Sample {
  std::vector<Tensor> inputs;  // a0, a1, ...
  Build build;
  bool differentiable = false;  // d y / d (every f32 input) is checked
  bool fuseFirst = false;       // run `fuse` before the interpreter sees it (the fused op itself)
};

Tensor ints(const Shape& s, std::vector<int32_t> v) { return Tensor::i32(s, std::move(v)); }

Sample sampleFor(OpKind op) {
  Lcg rng{uint64_t(op) + 11};
  auto f = [&](const Shape& s, double lo = -2, double hi = 2) { return spaced(s, lo, hi, rng); };
  // The builder functions take the caller's line (a Where); the samples pass this one.
  auto unary = [&](Value (*fn)(Value, Where), double lo = -2, double hi = 2) {
    return Sample{{f({3, 4}, lo, hi)}, [fn](Builder&, const std::vector<Value>& v) { return fn(v[0], Where::current()); }, true};
  };
  auto binary = [&](Value (*fn)(Value, Value, Where), double lo = -2, double hi = 2) {
    // The second operand's grid is shifted by a third of a step: no two
    // elements tie, so max/min stay at least 0.1 away from their kink.
    double shift = (hi - lo) / 12 / 3;
    return Sample{{f({3, 4}, lo, hi), f({3, 4}, lo + shift, hi + shift)},
                  [fn](Builder&, const std::vector<Value>& v) { return fn(v[0], v[1], Where::current()); }, true};
  };
  switch (op) {
    case OpKind::Constant: return {{}, [](Builder& b, const std::vector<Value>&) { return b.constant(0.25, {2, 3}); }};
    case OpKind::Input: return {{f({2, 3})}, [](Builder&, const std::vector<Value>& v) { return v[0]; }, true};
    case OpKind::Param: return {{}, [](Builder& b, const std::vector<Value>&) { return b.param("p", {2, 3}); }};
    case OpKind::State: return {{}, [](Builder& b, const std::vector<Value>&) { return b.state("s", {2, 3}); }};
    case OpKind::Add: return binary([](Value a, Value b, Where) { return a + b; });
    case OpKind::Sub: return binary([](Value a, Value b, Where) { return a - b; });
    case OpKind::Mul: return binary([](Value a, Value b, Where) { return a * b; });
    case OpKind::Div: return binary([](Value a, Value b, Where) { return a / b; }, 0.5, 2);
    case OpKind::Maximum: return binary(maximum);
    case OpKind::Minimum: return binary(minimum);
    case OpKind::Compare:
      return {{f({3, 4}), f({3, 4})}, [](Builder&, const std::vector<Value>& v) { return compare(v[0], v[1], "lt"); }};
    case OpKind::Select:
      return {{ints({2, 2}, {1, 0, 0, 1}), f({2, 2}), f({2, 2})},
              [](Builder&, const std::vector<Value>& v) { return select(v[0], v[1], v[2]); }, true};
    case OpKind::Neg: return unary([](Value a, Where) { return -a; });
    case OpKind::Exp: return unary(exp);
    case OpKind::Log: return unary(log, 0.1, 3);
    case OpKind::Tanh: return unary(tanh);
    case OpKind::Sigmoid: return unary(sigmoid);
    case OpKind::Relu: return unary(relu);
    case OpKind::Sqrt: return unary(sqrt, 0.1, 3);
    case OpKind::Softplus: {
      Sample s = unary(softplus, -30, 30);  // far past where a naive log(1 + e^x) overflows
      return s;
    }
    case OpKind::Erf: return unary(erf, -5, 5);  // past the clamp at 4
    case OpKind::Gelu: return unary(gelu, -6, 6);
    case OpKind::Iota:
      return {{}, [](Builder& b, const std::vector<Value>&) { return iota(b, {2, 3, 4}, 1); }};
    case OpKind::Attention:  // 2 entries, 5 positions, 3 wide: scores, softmax, values and logsumexps all checked
      return {{f({2, 5, 3}), f({2, 5, 3}), f({2, 5, 3})},
              [](Builder&, const std::vector<Value>& v) { return attention(v[0], v[1], v[2], 0.7, true); }, true};
    case OpKind::AttentionGrad:
      return {{f({2, 5, 3}), f({2, 5, 3}), f({2, 5, 3}), f({2, 5, 4})}, [](Builder& b, const std::vector<Value>& v) {
                Value y = attention(v[0], v[1], v[2], 0.7, false);
                return b.op(OpKind::AttentionGrad, {v[0], v[1], v[2], y, v[3]}, {{attr::key::scale, 0.7}});
              }};
    case OpKind::Convert:
      return {{f({3, 4}, -5, 5)}, [](Builder&, const std::vector<Value>& v) { return convert(v[0], DType::I32); }};
    case OpKind::MatMul:
      return {{f({3, 5}), f({4, 5})},
              [](Builder&, const std::vector<Value>& v) { return matmul(v[0], v[1], false, true); }, true};
    case OpKind::PackPanels:
      return {{f({5, 20})}, [](Builder& b, const std::vector<Value>& v) {
                return b.op(OpKind::PackPanels, {v[0]}, {{"panel_width", int64_t(16)}});
              }};
    case OpKind::PackedMatMul:
      return {{f({3, 5}), f({5, 20})}, [](Builder& b, const std::vector<Value>& v) {
                Value p = b.op(OpKind::PackPanels, {v[1]}, {{"panel_width", int64_t(8)}});
                return b.op(OpKind::PackedMatMul, {v[0], p}, {{"n", int64_t(20)}});
              }};
    case OpKind::ReduceSum:
      return {{f({3, 4})}, [](Builder&, const std::vector<Value>& v) { return reduceSum(v[0], {0}); }, true};
    case OpKind::ReduceMean:
      return {{f({3, 4})}, [](Builder&, const std::vector<Value>& v) { return reduceMean(v[0], {1}); }, true};
    case OpKind::ReduceMax:
      return {{f({3, 4})}, [](Builder&, const std::vector<Value>& v) { return reduceMax(v[0], {1}); }, true};
    case OpKind::ArgMax: return {{f({3, 4})}, [](Builder&, const std::vector<Value>& v) { return argmax(v[0], 1); }};
    case OpKind::SumSquares:
      return {{f({3, 4})}, [](Builder&, const std::vector<Value>& v) { return sumSquares(v[0]); }, true};
    case OpKind::Broadcast:
      return {{f({4})}, [](Builder&, const std::vector<Value>& v) { return broadcastTo(v[0], {3, 4}); }, true};
    case OpKind::Reshape:
      return {{f({3, 4})}, [](Builder&, const std::vector<Value>& v) { return reshape(v[0], {2, 6}); }, true};
    case OpKind::Transpose:
      return {{f({3, 4})}, [](Builder&, const std::vector<Value>& v) { return transpose(v[0], {1, 0}); }, true};
    case OpKind::Slice:
      return {{f({3, 4})}, [](Builder&, const std::vector<Value>& v) { return slice(v[0], {1, 1}, {3, 3}); }, true};
    case OpKind::Pad:
      return {{f({2, 3})}, [](Builder&, const std::vector<Value>& v) { return pad(v[0], {1, 0}, {0, 2}); }, true};
    case OpKind::Concat:
      return {{f({2, 3}), f({1, 3})}, [](Builder&, const std::vector<Value>& v) { return concat({v[0], v[1]}, 0); },
              true};
    case OpKind::AllReduce:  // one process: the identity, and its gradient the identity too
      return {{f({3, 4})}, [](Builder&, const std::vector<Value>& v) { return allReduce(v[0]); }, true};
    case OpKind::OneHot:
      return {{ints({4}, {0, 2, 3, 1})}, [](Builder&, const std::vector<Value>& v) { return oneHot(v[0], 4); }};
    case OpKind::RandomUniform:
      return {{ints({3}, {12345, 7, 2})},
              [](Builder&, const std::vector<Value>& v) { return randomUniform(v[0], {3, 5}, 4); }};
    case OpKind::Gather:
      return {{f({5, 3}), ints({4}, {4, 0, 2, 0})},
              [](Builder&, const std::vector<Value>& v) { return gather(v[0], v[1]); }, true};
    case OpKind::ScatterAdd:
      return {{f({4, 3}), ints({4}, {1, 0, 1, 3})},
              [](Builder&, const std::vector<Value>& v) { return scatterAdd(v[0], v[1], 5); }, true};
    case OpKind::LogSoftmax:
      return {{f({3, 5})}, [](Builder&, const std::vector<Value>& v) { return logSoftmax(v[0]); }, true};
    case OpKind::SoftmaxCrossEntropy:
      return {{f({3, 5}), ints({3}, {4, 0, 2})},
              [](Builder&, const std::vector<Value>& v) { return softmaxCrossEntropy(v[0], v[1]); }, true};
    case OpKind::LinearCrossEntropy:  // 3 rows, K 4, V 5; w as [V, K] so transpose_b is covered too
      return {{f({3, 4}), f({5, 4}), f({5}), ints({3}, {4, 0, 2})}, [](Builder& b, const std::vector<Value>& v) {
                return b.op(OpKind::LinearCrossEntropy, {v[0], v[1], v[2], v[3]}, {{attr::key::transposeB, int64_t(1)}});
              }, true};
    case OpKind::LinearCrossEntropyGrad:
      return {{f({3, 4}), f({4, 5}), f({5}), ints({3}, {1, 3, 2}), f({3})}, [](Builder& b, const std::vector<Value>& v) {
                Value loss = b.op(OpKind::LinearCrossEntropy, {v[0], v[1], v[2], v[3]});
                return b.op(OpKind::LinearCrossEntropyGrad, {v[0], v[1], v[2], v[3], loss, v[4]});
              }};
    case OpKind::LinearCrossEntropyTrain:  // w as [V, K]: the transposed case (the grad above covers [K, V])
      return {{f({3, 4}), f({5, 4}), f({5}), ints({3}, {1, 3, 2}), f({3})}, [](Builder& b, const std::vector<Value>& v) {
                return b.op(OpKind::LinearCrossEntropyTrain, {v[0], v[1], v[2], v[3], v[4]},
                            {{attr::key::transposeB, int64_t(1)}});
              }};
    case OpKind::Fused:
      // Built from elementwise ops; `fuse` makes the one fused node both engines run.
      return {{f({3, 4}), f({4})},
              [](Builder&, const std::vector<Value>& v) { return tanh(v[0] + v[1]) * 2.0; }, false, true};
  }
  return {};
}

// Every op kind, from the same X-macro that declares them.
std::vector<OpKind> allOps() {
  return {
#define GRAPHC_OP(Enum, Name, Arity, Traits, Fusion, Lowering, Attributes) OpKind::Enum,
#include "graph/Op.def"
#undef GRAPHC_OP
  };
}


// The interpreter against the JIT on the sample's inputs, and its gradient
// rule against finite differences; `op` must appear in the built graph.
void checkSample(OpKind op, const std::string& what, const Sample& s, uint64_t seed) {
  std::string cache = std::string(GRAPHC_SCRATCH_DIR) + "/test-jit-cache";
  INFO(what);
  REQUIRE(s.build);
  Graph g;
  Builder b(g);
  std::vector<Value> in;
  TensorMap vars;
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    std::string name = "a" + std::to_string(i);
    in.push_back(b.input(name, s.inputs[i].dtype(), s.inputs[i].shape()));
    vars[name] = s.inputs[i];
  }
  Value y = s.build(b, in);
  b.output("y", y);
  verify(g);
  bool found = op == OpKind::Fused;
  for (const Node& n : g.nodes) found |= n.op == op;
  CHECK_MESSAGE(found, "the sample does not use the op it is for");
  Rng rng(seed);
  for (const Node& n : g.nodes)
    if (n.op == OpKind::Param || n.op == OpKind::State) {
      Tensor t(n.type);
      for (int64_t i = 0; i < t.size(); ++i) t.f32()[i] = float(rng.uniform() - 0.5);
      vars[n.name] = t;
    }
  Graph reference = g;
  if (s.fuseFirst) {
    PassManager pm;
    pm.addPipeline("fuse");
    pm.run(reference);
    REQUIRE(reference.nodesOf(OpKind::Fused).size() == 1);
  }
  TensorMap v1 = vars, v2 = vars;
  Tensor want = Interpreter(reference).run(v1).at("y");
  JitEngine jit(g, {cache, true});
  Tensor got = jit.run(v2).at("y");
  REQUIRE(got.type() == want.type());
  for (int64_t i = 0; i < want.size(); ++i) {
    INFO("element " << i << ": jit " << got.at(i) << ", interpreter " << want.at(i));
    CHECK(std::abs(got.at(i) - want.at(i)) <= 1e-5 + 2e-6 * std::abs(want.at(i)));
  }
  if (s.differentiable) checkGradients(what, s.build, s.inputs);
}

}  // namespace

TEST_CASE("every op in Op.def: the JIT agrees with the interpreter, and its gradient with finite differences") {
  for (OpKind op : allOps()) checkSample(op, "op " + std::string(opName(op)), sampleFor(op), uint64_t(op) + 3);
}

TEST_CASE("batched matmul (leading dimensions, every transpose): JIT, interpreter and gradient agree") {
  Lcg rng{77};
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      // [2, 3] batches of op(A) [4 x 5] times op(B) [5 x 6].
      Shape a = ta ? Shape{2, 3, 5, 4} : Shape{2, 3, 4, 5}, bShape = tb ? Shape{2, 3, 6, 5} : Shape{2, 3, 5, 6};
      Sample s{{spaced(a, -2, 2, rng), spaced(bShape, -2, 2, rng)},
               [ta, tb](Builder&, const std::vector<Value>& v) { return matmul(v[0], v[1], ta, tb); }, true};
      checkSample(OpKind::MatMul, fmt::format("batched matmul ta={} tb={}", ta, tb), s, 5);
    }
}

TEST_CASE("Op.def's attribute lists name only attributes Attrs.def declares, and the verifier holds nodes to them") {
  for (OpKind op : allOps()) {
    std::string_view names = opAttrNames(op);
    for (size_t at = 0; at < names.size();) {
      size_t end = std::min(names.find(' ', at), names.size());
      std::string name(names.substr(at, end - at));
      INFO("op " << opName(op) << ", attribute " << name);
      CHECK(attr::attrKindMismatch(name, AttrValue{int64_t(0)}) != "declared by no op");
      CHECK(opTakesAttr(op, name));
      at = end + 1;
    }
    CHECK(opTakesAttr(op, "offset"));
    CHECK_FALSE(opTakesAttr(op, "typo"));
  }
  CHECK(opTakesAttr(OpKind::MatMul, "transpose_b"));
  CHECK_FALSE(opTakesAttr(OpKind::Tanh, "transpose_a"));
  CHECK_FALSE(opTakesAttr(OpKind::MatMul, "transpose"));  // a prefix of a declared name is not one
}
