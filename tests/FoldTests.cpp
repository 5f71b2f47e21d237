// tests/FoldTests.cpp — constant folding is the reference evaluator: over every
// elementwise op of the op table and random constants (ordinary values, huge
// and tiny ones, infinities, NaNs, integer edge cases), `fold` must give the
// bits the interpreter computes for the unfolded graph.
#include <bit>
#include <cmath>
#include <fmt/format.h>

#include "TestUtil.h"
#include "graph/Builder.h"
#include "graph/Constant.h"
#include "passes/Passes.h"
#include "runtime/Interpreter.h"
#include "runtime/Random.h"

using namespace graphc;

namespace {

std::vector<OpKind> elementwiseOps() {
  std::vector<OpKind> ops;
#define GRAPHC_OP(Enum, Name, Arity, Traits, Fusion, Lowering, Attributes) \
  if (hasTrait(OpKind::Enum, kElementwise)) ops.push_back(OpKind::Enum);
#include "graph/Op.def"
#undef GRAPHC_OP
  return ops;
}

double randomValue(Rng& rng, DType dtype) {
  uint64_t pick = rng.next() % 8;
  if (dtype == DType::I32) {
    if (pick == 0) return 0;
    if (pick == 1) return double(int32_t(uint32_t(rng.next())));  // anywhere in i32
    return double(int64_t(rng.next() % 41) - 20);
  }
  switch (pick) {
    case 0: return double(std::bit_cast<float>(uint32_t(rng.next())));  // any bits: NaNs, infinities, denormals
    case 1: return std::ldexp(rng.uniform() - 0.5, int(rng.next() % 200) - 100);
    case 2: return double(int64_t(rng.next() % 9) - 4);
    case 3: return rng.uniform() * 200 - 100;
    default: return rng.uniform() * 20 - 10;
  }
}

uint64_t bitsOf(double v, DType dtype) {
  return dtype == DType::F32 ? std::bit_cast<uint32_t>(float(v)) : uint64_t(uint32_t(int32_t(v)));
}

}  // namespace

TEST_CASE("fold and the reference evaluator agree to the bit on every elementwise op") {
  Rng rng(2026);
  const char* preds[] = {"eq", "ne", "lt", "le", "gt", "ge"};
  int cases = 0, differing = 0;
  for (OpKind op : elementwiseOps()) {
    for (DType dtype : {DType::F32, DType::I32}) {
      for (int trial = 0; trial < 700; ++trial) {
        Graph g;
        Builder b(g);
        std::vector<Value> operands;
        for (int k = 0; k < opArity(op); ++k) {
          DType t = op == OpKind::Select && k == 0 ? DType::I32 : dtype;
          double v = op == OpKind::Select && k == 0 ? double(rng.next() % 2) : randomValue(rng, t);
          operands.push_back(b.constant(v, {}, t));
        }
        Attrs attrs;
        if (op == OpKind::Compare) attrs[attr::key::pred] = std::string(preds[rng.next() % 6]);
        if (op == OpKind::Convert) attrs[attr::key::dtype] = std::string(dtype == DType::F32 ? "i32" : "f32");
        Value y;
        try {
          y = b.op(op, operands, attrs);
        } catch (const Error&) {
          break;  // the op does not take this dtype (exp of i32)
        }
        b.output("y", y);
        TensorMap none;
        Tensor want = Interpreter(g).run(none).at("y");
        Graph folded = g;
        foldConstants(folded);
        const Node& result = folded.node(folded.outputs[0].value);
        INFO(opName(op) << " on " << dtypeName(dtype));
        REQUIRE(result.op == OpKind::Constant);
        ++cases;
        if (bitsOf(constantValue(result), want.dtype()) != bitsOf(want.at(0), want.dtype())) {
          ++differing;
          std::vector<double> in;
          for (const Value& v : operands) in.push_back(constantValue(g.node(v.id())));
          MESSAGE(fmt::format("{}({}) folds to {}, evaluates to {}", opName(op), fmt::join(in, ", "),
                              constantValue(result), want.at(0)));
        }
      }
    }
  }
  CHECK(cases > 12000);
  CHECK(differing == 0);
}
