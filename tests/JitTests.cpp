// tests/JitTests.cpp — the compiled engine against the reference interpreter.
//
// Tolerances: 1e-5 relative (plus 1e-6 absolute) for plain arithmetic and the
// runtime kernels; the polynomial tanh/exp/log/sigmoid add up to ~3e-7
// absolute error, well inside the same bound after the ops around them.
#include <cmath>
#include <fmt/format.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>

#include "TestUtil.h"
#include "codegen/GenerationProgram.h"
#include "codegen/Jit.h"
#include "graph/Builder.h"
#include "graph/Verifier.h"
#include "models/Model.h"
#include "runtime/Initializers.h"
#include "runtime/JitEngine.h"
#include "driver/Pipeline.h"
#include "graph/TextIR.h"
#include "graph/FileIO.h"
#include "codegen/ObjectCache.h"
#include "target/TargetMachine.h"
#include <llvm/IR/IRBuilder.h>
#include <llvm/Support/xxhash.h>
#include <llvm/Target/TargetMachine.h>
#include <cstring>
#include "passes/PassManager.h"
#include "runtime/Trainer.h"

using namespace graphc;

namespace {

using BuildFn = std::function<Value(Builder&, const std::vector<Value>&)>;

std::string testCacheDir() { return std::string(GRAPHC_SCRATCH_DIR) + "/test-jit-cache"; }

Tensor randomTensor(const TensorType& t, Rng& rng, double lo = -2, double hi = 2) {
  Tensor x(t);
  for (int64_t i = 0; i < x.size(); ++i) {
    if (t.dtype == DType::F32) x.f32()[i] = float(lo + (hi - lo) * rng.uniform());
    else x.i32()[i] = int32_t(rng.uniformInt(0, 4));
  }
  return x;
}

void checkClose(const Tensor& jit, const Tensor& ref, const std::string& what, double rel = 1e-5, double abs = 1e-6) {
  INFO(what);
  REQUIRE(jit.type() == ref.type());
  double worst = 0;
  int64_t worstAt = 0;
  for (int64_t i = 0; i < ref.size(); ++i) {
    double a = jit.at(i), b = ref.at(i);
    if (std::isnan(a) && std::isnan(b)) continue;
    double err = std::abs(a - b) / (abs + rel * std::abs(b));
    if (!(err <= worst)) {
      worst = err;
      worstAt = i;
    }
  }
  INFO("worst element " << worstAt << ": jit " << jit.at(worstAt) << ", interpreter " << ref.at(worstAt));
  CHECK(worst <= 1.0);
}

// out = fn(inputs) on both engines, random inputs of the given types.
// epilogues >= 0: the compiled graph runs exactly that many kernels inside products.
void compareOp(const std::string& what, const BuildFn& fn, const std::vector<TensorType>& types, double lo = -2,
               double hi = 2, double absTol = 1e-6, int epilogues = -1) {
  Graph g;
  Builder b(g);
  std::vector<Value> in;
  Rng rng(42);
  TensorMap vars;
  for (size_t i = 0; i < types.size(); ++i) {
    std::string name = fmt::format("a{}", i);
    in.push_back(b.input(name, types[i].dtype, types[i].shape));
    vars[name] = randomTensor(types[i], rng, lo, hi);
  }
  b.output("out", fn(b, in));
  verify(g);
  TensorMap v1 = vars, v2 = vars;
  Tensor ref = Interpreter(g).run(v1).at("out");
  JitEngine jit(g, {testCacheDir(), true});
  checkClose(jit.run(v2).at("out"), ref, what, 1e-5, absTol);
  if (epilogues >= 0) {
    int marked = 0;
    for (const Node& n : jit.planned().nodes) marked += attr::epilogue(n.attrs) != 0;
    INFO(what);
    CHECK(marked == epilogues);
  }
}

TensorType f32(Shape s) { return {DType::F32, std::move(s)}; }
TensorType i32(Shape s) { return {DType::I32, std::move(s)}; }

}  // namespace

TEST_CASE("jit: elementwise ops and fused patterns match the interpreter") {
  auto T = f32({5, 37});  // odd sizes exercise the vector loop's remainder
  compareOp("add sub mul div", [](Builder&, auto& v) { return (v[0] + v[1]) * v[0] - v[1] / (v[0] * v[0] + 1.0); }, {T, T});
  compareOp("max min neg relu", [](Builder&, auto& v) { return maximum(v[0], -v[1]) + minimum(v[0], v[1]) + relu(v[0]); },
            {T, T});
  compareOp("compare select", [](Builder&, auto& v) { return select(compare(v[0], v[1], "le"), v[0], v[1] * 2.0); }, {T, T});
  compareOp("tanh", [](Builder&, auto& v) { return tanh(v[0] * 4.0); }, {T});
  compareOp("exp", [](Builder&, auto& v) { return exp(v[0] * 20.0); }, {T});
  compareOp("sigmoid", [](Builder&, auto& v) { return sigmoid(v[0] * 10.0); }, {T});
  compareOp("log sqrt", [](Builder&, auto& v) { return log(v[0]) + sqrt(v[0]); }, {T}, 1e-3, 100);
  compareOp("bias row", [](Builder&, auto& v) { return tanh(v[0] + v[1]); }, {T, f32({37})});
  // Big enough to be split by columns over the threads (an update of a 512 x 512 weight is).
  compareOp("split by columns", [](Builder&, auto& v) { return v[0] - v[2] * (v[1] + v[3]); },
            {f32({300, 520}), f32({300, 520}), f32({}), f32({300, 1})});
  compareOp("column", [](Builder&, auto& v) { return v[0] * v[1]; }, {T, f32({5, 1})});
  // Concatenated kernels: pieces of other widths, each its own loop over its columns of the result
  // (with a bias row, a column slice read in place); the big one split by columns across the pieces.
  compareOp("concatenated kernel", [](Builder&, auto& v) {
    return concat({tanh(v[0]) * v[1], sigmoid(v[1] + v[2]), slice(v[3], {1, 2}, {6, 39}) - v[0]}, 1);
  }, {T, T, f32({37}), f32({7, 40})});
  compareOp("concatenated kernel split by columns", [](Builder&, auto& v) {
    return concat({v[0] * v[1] + 1.0, exp(v[2] * 0.25)}, 1);
  }, {f32({300, 300}), f32({300, 300}), f32({300, 220})});
  compareOp("scalar", [](Builder&, auto& v) { return v[0] * minimum(v[1], v[1] * 0.5 + 1.0); }, {T, f32({})});
  compareOp("integer ops", [](Builder&, auto& v) { return (v[0] + v[1]) * v[0] - v[1] / (v[0] + 1); }, {i32({9}), i32({9})});
  compareOp("convert", [](Builder&, auto& v) { return convert(v[0], DType::F32) + convert(convert(v[1], DType::I32), DType::F32); },
            {i32({9}), f32({9})});
}

TEST_CASE("jit: runtime kernels match the interpreter") {
  compareOp("matmul", [](Builder&, auto& v) { return matmul(v[0], v[1]); }, {f32({7, 5}), f32({5, 3})});
  compareOp("matmul ta", [](Builder&, auto& v) { return matmul(v[0], v[1], true, false); }, {f32({5, 7}), f32({5, 3})});
  compareOp("matmul tb", [](Builder&, auto& v) { return matmul(v[0], v[1], false, true); }, {f32({7, 5}), f32({3, 5})});
  compareOp("matmul ta tb", [](Builder&, auto& v) { return matmul(v[0], v[1], true, true); }, {f32({5, 7}), f32({3, 5})});
  auto packedProduct = [](bool ta, bool tb) {
    return [=](Builder& b, auto& v) {
      Attrs pack{{"panel_width", int64_t(16)}}, product{{"n", int64_t(tb ? v[1].dim(0) : v[1].dim(1))}};
      if (tb) pack["transpose"] = int64_t(1);
      if (ta) product["transpose_a"] = int64_t(1);
      return b.op(OpKind::PackedMatMul, {v[0], b.op(OpKind::PackPanels, {v[1]}, pack)}, product);
    };
  };
  // 300-term sums of terms up to 4 in magnitude: summation order alone moves them by ~1e-5.
  compareOp("packed_matmul", packedProduct(false, false), {f32({13, 300}), f32({300, 35})}, -2, 2, 1e-4);
  compareOp("packed_matmul ta tb", packedProduct(true, true), {f32({300, 13}), f32({35, 300})}, -2, 2, 1e-4);
  // Big enough to split over threads: the elementwise consumer runs as the product's epilogue.
  compareOp("packed_matmul with an epilogue",
            [&](Builder& b, auto& v) {
              Value z = packedProduct(false, false)(b, v);
              return tanh(z + v[2]) * v[3] + v[4];
            },
            {f32({32, 300}), f32({300, 520}), f32({520}), f32({32, 1}), f32({32, 520})}, -2, 2, 1e-4, 1);
  // An LSTM cell as the product's epilogue chain: four gate kernels read 64-column blocks of the
  // product, the cell kernels read the gates; split over threads by units (a panel of every block).
  // i and f are outputs too, so they stay kernels of their own: the chain is i, f, c and the result.
  compareOp("packed_matmul with a gated epilogue chain",
            [&](Builder& b, auto& v) {
              Value z = packedProduct(false, false)(b, v);
              auto gate = [&](int64_t k) { return slice(z, {0, 64 * k}, {32, 64 * (k + 1)}); };
              Value i = sigmoid(gate(0) + v[2]), f = sigmoid(gate(1)), g = tanh(gate(2)), o = sigmoid(gate(3));
              b.output("i", i);
              b.output("f", f);
              Value c = f * v[3] + i * g;
              b.output("c", c);
              return o * tanh(c);
            },
            {f32({32, 300}), f32({300, 256}), f32({64}), f32({32, 64})}, -2, 2, 1e-4, 4);
  // Going back: the kernel after the product and a concatenation of kernels (an LSTM's four gate
  // gradients side by side), each piece run on the product's columns.
  compareOp("packed_matmul with a concatenated kernel in its epilogue chain",
            [&](Builder& b, auto& v) {
              Value d = packedProduct(false, false)(b, v) + v[2];
              b.output("d", d);
              return concat({d * v[3], tanh(d), d * d * v[3]}, 1);
            },
            {f32({32, 300}), f32({300, 96}), f32({32, 96}), f32({32, 96})}, -2, 2, 1e-4, 2);
  compareOp("reduce_sum", [](Builder&, auto& v) { return reduceSum(v[0], {0, 2}); }, {f32({3, 4, 5})});
  compareOp("reduce_mean", [](Builder&, auto& v) { return reduceMean(v[0], {1}); }, {f32({3, 4, 5})});
  compareOp("reduce_max", [](Builder&, auto& v) { return reduceMax(v[0], {2}); }, {f32({3, 4, 5})});
  compareOp("argmax", [](Builder&, auto& v) { return argmax(v[0], 1); }, {f32({3, 4, 5})});
  compareOp("broadcast", [](Builder&, auto& v) { return broadcastTo(v[0], {2, 3, 4}); }, {f32({3, 1})});
  compareOp("reshape", [](Builder&, auto& v) { return reshape(v[0], {4, 3}); }, {f32({3, 4})});
  compareOp("transpose", [](Builder&, auto& v) { return transpose(v[0], {2, 0, 1}); }, {f32({2, 3, 4})});
  compareOp("slice", [](Builder&, auto& v) { return slice(v[0], {1, 0, 2}, {2, 3, 4}); }, {f32({2, 3, 4})});
  compareOp("pad", [](Builder&, auto& v) { return pad(v[0], {1, 0}, {2, 3}); }, {f32({2, 3})});
  compareOp("concat", [](Builder&, auto& v) { return concat({v[0], v[1], v[0]}, 1); }, {f32({2, 3}), f32({2, 1})});
  compareOp("one_hot", [](Builder&, auto& v) { return oneHot(v[0], 5); }, {i32({6})});
  compareOp("gather", [](Builder&, auto& v) { return gather(v[0], v[1]); }, {f32({5, 3}), i32({6})});
  compareOp("scatter_add", [](Builder&, auto& v) { return scatterAdd(v[0], v[1], 5); }, {f32({6, 3}), i32({6})});
  // Indices reach 4: past a 3-row table, they read zero rows and drop their updates.
  compareOp("gather zero_out_of_range", [](Builder&, auto& v) { return gather(v[0], v[1], true); },
            {f32({3, 3}), i32({9})});
  // Fused into the kernel that adds it (the RNN's input term): out-of-range rows read zeros there too.
  compareOp("fused row gather", [](Builder&, auto& v) { return tanh(gather(v[0], v[1], true) + v[2]); },
            {f32({3, 37}), i32({9}), f32({9, 37})});
  compareOp("scatter_add zero_out_of_range", [](Builder&, auto& v) { return scatterAdd(v[0], v[1], 3, true); },
            {f32({9, 3}), i32({9})});
  compareOp("log_softmax", [](Builder&, auto& v) { return logSoftmax(v[0]); }, {f32({4, 7})});
  compareOp("softmax_cross_entropy", [](Builder&, auto& v) { return softmaxCrossEntropy(v[0], v[1]); },
            {f32({6, 5}), i32({6})});
  // Big enough to be split over the threads (the loss and the bias gradient over all steps).
  compareOp("log_softmax split", [](Builder&, auto& v) { return logSoftmax(v[0]); }, {f32({1120, 28})});
  compareOp("softmax_cross_entropy split", [](Builder&, auto& v) { return softmaxCrossEntropy(v[0], v[1]); },
            {f32({1120, 28}), i32({1120})});
  compareOp("reduce_sum rows split", [](Builder&, auto& v) { return reduceSum(v[0], {0}); }, {f32({600, 300})});
  compareOp("reduce_sum all", [](Builder&, auto& v) { return reduceSum(v[0], {0, 1}); }, {f32({300, 520})});
  compareOp("sum of squares", [](Builder&, auto& v) { return reduceSum(v[0] * v[0], {0, 1}); }, {f32({512, 512})});
  // Logits far apart: the shifted exponentials span from 1 down past float's range.
  compareOp("log_softmax wide", [](Builder&, auto& v) { return logSoftmax(v[0]); }, {f32({64, 28})}, -60, 60);
  compareOp("softmax_cross_entropy wide", [](Builder&, auto& v) { return softmaxCrossEntropy(v[0], v[1]); },
            {f32({64, 28}), i32({64})}, -60, 60);
  compareOp("constant", [](Builder& b, auto& v) { return matmul(v[0], broadcastTo(b.constant(0.5), {3, 2})); }, {f32({2, 3})});
}

TEST_CASE("jit: the whole rnn-scratch training step, loss and every update") {
  ModelConfig c{8, 7, 32, 28, 1};
  for (const char* opt : {"sgd", "adam"}) {
    OptimizerConfig oc;
    oc.kind = opt;
    oc.learningRate = std::string(opt) == "adam" ? 0.01 : 1.0;
    Graph g = buildTrainingGraph(findModel("rnn-scratch"), c, oc);
    Rng rng(9);
    TensorMap vars = initializeParams(g, rng);
    for (auto& [name, t] : zeroState(g)) vars[name] = randomTensor(t.type(), rng, -0.5, 0.5);
    if (vars.count("adam.step")) vars["adam.step"] = Tensor(DType::F32, {});
    for (const char* in : {"X", "Y"}) {
      Tensor t(DType::I32, {8, 7});
      for (int64_t i = 0; i < t.size(); ++i) t.i32()[i] = int32_t(rng.uniformInt(0, 27));
      vars[in] = t;
    }
    TensorMap v1 = vars, v2 = vars;
    auto ref = Interpreter(g).run(v1);
    JitEngine jit(g, {testCacheDir(), true});
    auto got = jit.run(v2);
    for (const auto& [name, t] : ref) checkClose(got.at(name), t, std::string(opt) + " output " + name);
    for (const auto& [name, t] : v1) checkClose(v2.at(name), t, std::string(opt) + " value " + name);
  }
}

TEST_CASE("jit: 20 training steps of the seed model agree with the interpreter to 1e-5") {
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 10000);
  TrainOptions o;
  o.model = ModelConfig{32, 35, 512, corpus.vocab.size(), 1};  // the seed setup
  o.engine = "interp";
  TrainOptions j = o;
  j.engine = "jit";
  j.engineOptions.cacheDir = testCacheDir();
  Trainer ti(findModel("rnn-scratch"), o, corpus), tj(findModel("rnn-scratch"), j, corpus);
  std::vector<double> li, lj;
  ti.onStep = [&](double loss) { li.push_back(loss); };
  tj.onStep = [&](double loss) { lj.push_back(loss); };
  while (li.size() < 20) {
    ti.trainEpoch();
    tj.trainEpoch();
  }
  for (size_t s = 0; s < 20; ++s) {
    INFO("step " << s);
    CHECK(std::abs(lj[s] - li[s]) <= 1e-5 * std::abs(li[s]));
  }
}

// GRAPHC_PERF_MAP: every function of every object the JIT links, local ones (the product tiles)
// included, at the address it was linked at; code unloaded and then replaced at the same
// addresses would name two functions at one place, so none is unloaded while the map is written.
TEST_CASE("jit: the perf map names each function once, at its own address") {
  const std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  std::filesystem::remove(path);
  setenv("GRAPHC_PERF_MAP", "1", 1);
  for (int64_t width : {64, 96}) {  // the first graph's code is freed before the second is linked
    Graph g;
    Builder b(g);
    Value x = b.input("x", DType::F32, {40, width});
    Value w = b.input("w", DType::F32, {width, width});
    b.output("y", tanh(matmul(x, w)) + 1.0);
    Graph planned = planForJit(g);
    auto code = CompiledGraph::compile(planned, {testCacheDir(), true}, nullptr);
  }
  unsetenv("GRAPHC_PERF_MAP");
  struct Entry {
    uint64_t start, size;
    std::string name;
  };
  std::vector<Entry> entries;
  std::ifstream map(path);
  std::string start, size, name;
  while (map >> start >> size >> name) entries.push_back({std::stoull(start, nullptr, 16), std::stoull(size, nullptr, 16), name});
  std::filesystem::remove(path);
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.start < b.start; });
  int entryFunctions = 0, tiles = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    INFO(entries[i].name << " at " << std::hex << entries[i].start);
    CHECK(entries[i].size > 0);
    if (i + 1 < entries.size()) CHECK(entries[i].start + entries[i].size <= entries[i + 1].start);
    entryFunctions += entries[i].name == "graphc:graphc_entry";
    tiles += entries[i].name.rfind("graphc:graphc_tile_", 0) == 0;
  }
  CHECK(entryFunctions == 2);
  CHECK(tiles > 0);
}

TEST_CASE("jit: the object cache misses, hits, and rebuilds corrupt or truncated entries") {
  std::string dir = testCacheDir() + "-fresh";
  std::filesystem::remove_all(dir);
  Graph g;
  Builder b(g);
  Value x = b.input("x", DType::F32, {4, 8});
  b.output("y", tanh(x * 3.0) + 1.0);
  Graph planned = planForJit(g);
  CompileReport r1, r2, r3, r4;
  CompiledGraph::compile(planned, {dir, true}, &r1);
  CHECK_FALSE(r1.cacheHit);
  CHECK(std::filesystem::exists(r1.cacheFile));
  CompiledGraph::compile(planned, {dir, true}, &r2);
  CHECK(r2.cacheHit);
  CHECK(r2.optimizeSeconds == 0);
  {  // flip a byte in the object: the checksum fails, the entry is rebuilt
    std::fstream f(r1.cacheFile, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-10, std::ios::end);
    f.put('\x5a');
  }
  CompiledGraph::compile(planned, {dir, true}, &r3);
  CHECK_FALSE(r3.cacheHit);
  std::filesystem::resize_file(r1.cacheFile, 40);
  auto code = CompiledGraph::compile(planned, {dir, true}, &r4);
  CHECK_FALSE(r4.cacheHit);
  // The rebuilt entry runs and is whole again.
  JitEngine engine(g, {dir, true});
  CHECK(engine.report().cacheHit);
  TensorMap vars{{"x", Tensor(DType::F32, {4, 8})}};
  CHECK(engine.run(vars).at("y").f32()[0] == 1.0f);
  // A directory that cannot be created: compiling still works, without a cache.
  CompileReport r5;
  CompiledGraph::compile(planned, {"/dev/null/cache", true}, &r5);
  CHECK_FALSE(r5.cacheHit);
}

TEST_CASE("jit: fused kernels are vector code for the host") {
  ModelConfig c{32, 2, 64, 28, 1};
  Graph planned = planForJit(buildTrainingGraph(findModel("rnn-scratch"), c, OptimizerConfig{}));
  std::string ir = emitCode(planned, EmitKind::OptimizedLlvmIr);
  bool avx512 = hostTarget().vectorBits == 512;
  CHECK(ir.find(avx512 ? "<16 x float>" : "<8 x float>") != std::string::npos);
  std::string asm_ = emitCode(planned, EmitKind::Assembly);
  CHECK(asm_.find(avx512 ? "zmm" : "ymm") != std::string::npos);
  // No libm calls are left in the kernels: tanh/exp are inline polynomials.
  CHECK(ir.find("@tanhf") == std::string::npos);
  CHECK(ir.find("@expf") == std::string::npos);
}

TEST_CASE("jit: a bad index is reported after the run, not a crash") {
  Graph g;
  Builder b(g);
  Value t = b.input("t", DType::F32, {3, 2});
  Value k = b.input("k", DType::I32, {2});
  b.output("g", gather(t, k));
  JitEngine jit(g, {testCacheDir(), true});
  TensorMap vars{{"t", Tensor(DType::F32, {3, 2})}, {"k", Tensor::i32({2}, {0, 7})}};
  CHECK_THROWS_WITH_AS(jit.run(vars), "gather index 7 out of range [0, 3)", Error);
  vars["k"] = Tensor::i32({2}, {0, 2});
  CHECK_NOTHROW(jit.run(vars));
}

TEST_CASE("jit: transcendental accuracy against double precision") {
  // Dense sweeps; the bounds are the ones docs/codegen.md reports.
  struct Case {
    const char* name;
    std::function<Value(Value)> op;
    double (*ref)(double);
    double lo, hi;
    bool relative;
    double bound;
  };
  const Case cases[] = {
      {"tanh", [](Value v) { return tanh(v); }, [](double x) { return std::tanh(x); }, -10, 10, false, 5e-7},
      {"sigmoid", [](Value v) { return sigmoid(v); }, [](double x) { return 1 / (1 + std::exp(-x)); }, -20, 20, false, 5e-7},
      {"exp", [](Value v) { return exp(v); }, [](double x) { return std::exp(x); }, -80, 80, true, 5e-7},
      {"log", [](Value v) { return log(v); }, [](double x) { return std::log(x); }, 1e-6, 1e6, false, 1e-6},
      {"erf", [](Value v) { return erf(v); }, [](double x) { return std::erf(x); }, -5, 5, false, 5e-7},
      {"gelu", [](Value v) { return gelu(v); }, [](double x) { return 0.5 * x * (1 + std::erf(x * M_SQRT1_2)); }, -8, 8,
       false, 2e-6},
  };
  const int64_t n = 1 << 16;
  for (const auto& c : cases) {
    Graph g;
    Builder b(g);
    Value x = b.input("x", DType::F32, {n});
    b.output("y", c.op(x));
    Tensor in(DType::F32, {n});
    for (int64_t i = 0; i < n; ++i)
      in.f32()[i] = std::string(c.name) == "log" ? float(c.lo * std::pow(c.hi / c.lo, double(i) / (n - 1)))
                                                 : float(c.lo + (c.hi - c.lo) * double(i) / (n - 1));
    JitEngine jit(g, {testCacheDir(), true});
    TensorMap vars{{"x", in}};
    Tensor y = jit.run(vars).at("y");
    double worst = 0;
    for (int64_t i = 0; i < n; ++i) {
      double want = c.ref(double(in.f32()[i])), got = y.f32()[i];
      double err = c.relative ? std::abs(got - want) / std::abs(want) : std::abs(got - want);
      worst = std::max(worst, err);
    }
    MESSAGE(std::string(c.name) << ": max " << (c.relative ? "relative" : "absolute") << " error " << worst << " on [" << c.lo << ", "
                   << c.hi << "]");
    CHECK(worst < c.bound);
  }
}

TEST_CASE("jit: resident params stay intact across runs (generation's one-step graph)") {
  ModelConfig c{1, 1, 64, 28, 1};
  for (const char* model : {"rnn-scratch", "lstm"}) {
    Graph g = buildStepGraph(findModel(model), c);
    Rng rng(4);
    TensorMap params = initializeParams(g, rng);
    for (auto& [name, t] : params) initialize(t, "uniform", 0.3, rng);
    TensorMap vi = params, vj = params;
    for (auto& [name, t] : zeroState(g)) vi[name] = vj[name] = t;
    JitEngine jit(g, {testCacheDir(), true});
    std::vector<std::string> names;
    for (const auto& [name, t] : params) names.push_back(name);
    jit.setResident(names);
    Interpreter interp(g);
    for (int32_t token : {3, 1, 4, 1, 5, 9, 2, 6}) {
      vi["X"] = vj["X"] = Tensor::i32({1, 1}, {token});
      checkClose(jit.run(vj).at("logits"), interp.run(vi).at("logits"), std::string(model) + " logits");
    }
  }
}

TEST_CASE("jit: resident params take their updates inside the engine; readResident returns them") {
  ModelConfig c{4, 5, 24, 28, 1};
  Graph g = buildTrainingGraph(findModel("rnn-scratch"), c, OptimizerConfig{});
  Rng rng(6);
  TensorMap vars = initializeParams(g, rng);
  std::vector<std::string> names;
  for (const auto& [name, t] : vars) names.push_back(name);
  for (auto& [name, t] : zeroState(g)) vars[name] = t;
  Tensor X(DType::I32, {4, 5});
  for (int64_t i = 0; i < X.size(); ++i) X.i32()[i] = int32_t(rng.uniformInt(0, 27));
  vars["X"] = X;
  vars["Y"] = X;
  TensorMap vi = vars, vj = vars;
  JitEngine jit(g, {testCacheDir(), true});
  jit.setResident(names);
  Interpreter interp(g);
  for (int step = 0; step < 3; ++step) {
    interp.run(vi);
    jit.run(vj);
  }
  for (const auto& name : names) CHECK(vj.at(name).f32Vector() == vars.at(name).f32Vector());  // not copied out
  jit.readResident(vj);
  for (const auto& name : names) checkClose(vj.at(name), vi.at(name), name + " after 3 steps");

  // Taken: the caller's copies go once the engine has them; the updates are the same.
  TensorMap vt = vars;
  JitEngine taker(g, {testCacheDir(), true});
  taker.setResident(names, /*take=*/true);
  for (int step = 0; step < 3; ++step) taker.run(vt);
  for (const auto& name : names) CHECK(!vt.count(name));
  TensorMap taken;
  const std::vector<std::string> first = {names.front()};
  taker.readResident(taken, &first);  // only those asked for
  CHECK(taken.size() == 1);
  // discardExcept gives back the rest of the arena; what it keeps reads as before.
  taker.discardExcept(names);
  taker.readResident(taken);
  REQUIRE(taken.size() == names.size());
  for (const auto& name : names) CHECK(taken.at(name).f32Vector() == vj.at(name).f32Vector());
}

TEST_CASE("pipeline: graphc compile's pipeline, as objects or as its string, builds exactly the graph training runs") {
  ModelConfig c{4, 3, 16, 28, 1};
  const ModelDef& model = findModel("rnn-scratch");
  PipelineConfig pipeline;
  pipeline.optimizer.kind = "adam";
  pipeline.optimizer.learningRate = 0.01;
  pipeline.optimizer.weightDecay = 1e-4;
  // What `graphc train` runs: the training graph, then the JIT's lowering for the host.
  Graph trained = planForJit(buildTrainingGraph(model, c, pipeline.optimizer));
  // What `graphc compile` runs by default: the driver's pass objects from the forward graph...
  Graph compiled = buildModelGraph(model, c);
  PassManager pm;
  pm.add(optimizePasses(pipeline));
  pm.add(lowerPasses(pipeline.target));
  pm.run(compiled);
  CHECK(printGraph(compiled) == printGraph(trained));
  // ...and what it prints, parsed back: the same passes with the same options.
  const std::string text = fullPipelineText(pipeline);
  Graph reparsed = buildModelGraph(model, c);
  PassManager fromText;
  fromText.addPipeline(text);
  fromText.run(reparsed);
  CHECK(printGraph(reparsed) == printGraph(trained));
  PassList parsed;
  for (const PassSpec& spec : parsePipeline(text)) parsed.push_back(createPass(spec));
  CHECK(pipelineText(parsed) == text);
  CHECK(text.find("fuse-attention,train-step{optimizer=adam,lr=0.01,clip=1,beta1=0.9,beta2=0.999,epsilon=1e-08,"
                  "weight-decay=0.0001}") == 0);
  CHECK(text.find(fmt::format("pack-weights{{panel-width={}}}", hostTarget().panelWidth())) != std::string::npos);
}

TEST_CASE("reroll: the steps run as loops and give the flat form's results bit for bit") {
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 4000);
  struct Case {
    const char* model;
    int64_t hidden, layers;
  };
  for (Case k : {Case{"rnn-scratch", 48, 1}, Case{"gru", 32, 1}, Case{"lstm", 32, 1}, Case{"lstm", 24, 2},
                 Case{"rnn", 32, 2}}) {
    INFO(std::string(k.model) << " with " << k.layers << " layer(s)");
    TrainOptions o;
    o.model = ModelConfig{6, 12, k.hidden, corpus.vocab.size(), k.layers};
    o.engineOptions.cacheDir = testCacheDir();
    TrainOptions flat = o;
    flat.engineOptions.reroll = false;
    Trainer rolled(findModel(k.model), o, corpus), unrolled(findModel(k.model), flat, corpus);
    const auto* jit = dynamic_cast<const JitEngine*>(&rolled.engine());
    REQUIRE(jit != nullptr);
    const ModuleStats& stats = jit->report().module;
    CHECK(stats.loops.size() >= 2);  // the forward and the backward recurrence at least
    CHECK(stats.rolledCalls >= 2 * (o.model.numSteps - 1));  // a call per step, each way, at least
    CHECK(dynamic_cast<const JitEngine*>(&unrolled.engine())->report().module.loops.empty());
    std::vector<double> a, b;
    rolled.onStep = [&](double loss) { a.push_back(loss); };
    unrolled.onStep = [&](double loss) { b.push_back(loss); };
    for (int epoch = 0; epoch < 2; ++epoch) {  // several steps, the state carried between them
      rolled.trainEpoch();
      unrolled.trainEpoch();
    }
    REQUIRE(a.size() >= 4);
    CHECK(a == b);
    TensorMap pa = rolled.params(), pb = unrolled.params();
    for (const auto& [name, t] : pa) CHECK(t.f32Vector() == pb.at(name).f32Vector());
  }
}

TEST_CASE("reroll: --emit llvm shows the loop, and the entry stays small as the sequence grows") {
  auto entryCalls = [](int64_t steps, bool reroll) {
    ModelConfig c{4, steps, 16, 28, 1};
    Graph planned = planForJit(buildTrainingGraph(findModel("rnn-scratch"), c, OptimizerConfig{}));
    std::string ir = emitCode(planned, EmitKind::LlvmIr, hostTarget(), CodegenOptions{reroll});
    std::string entry = ir.substr(ir.find("define void @graphc_entry"));
    entry = entry.substr(0, entry.find("\n}\n"));
    size_t calls = 0;
    for (size_t at = entry.find("call void"); at != std::string::npos; at = entry.find("call void", at + 1)) ++calls;
    return std::make_pair(calls, entry);
  };
  auto [short1, shortIr] = entryCalls(20, true);
  auto [long1, longIr] = entryCalls(200, true);
  auto [longFlat, flatIr] = entryCalls(200, false);
  CHECK(longIr.find("steps:") != std::string::npos);  // the loop's block
  CHECK(longIr.find("llvm.loop") != std::string::npos);
  CHECK(flatIr.find("steps:") == std::string::npos);
  CHECK(long1 <= short1 + 8);   // ten times the steps, about the same calls
  CHECK(longFlat > 5 * long1);  // flat, the calls grow with the steps
}

// A small training step, planned: what the cache tests compile.
static Graph smallPlannedStep() {
  ModelConfig c{2, 2, 8, 28, 1};
  return planForJit(buildTrainingGraph(findModel("rnn-scratch"), c, OptimizerConfig{}));
}

TEST_CASE("cache: private, bounded, and never runs or waits on what it should not") {
  Graph planned = smallPlannedStep();
  namespace fs = std::filesystem;
  // A directory others may write: one warning, no cache, compiling still works.
  std::string open = std::string(GRAPHC_SCRATCH_DIR) + "/test-cache-world-writable";
  fs::remove_all(open);
  fs::create_directories(open);
  fs::permissions(open, fs::perms::all);
  CompileReport r1;
  CompiledGraph::compile(planned, {open, true}, &r1);
  CHECK_FALSE(r1.cacheHit);
  CHECK(fs::is_empty(open));  // nothing written there
  // A new directory is created 0700.
  std::string fresh = std::string(GRAPHC_SCRATCH_DIR) + "/test-cache-private";
  fs::remove_all(fresh);
  CompileReport r2;
  CompiledGraph::compile(planned, {fresh, true}, &r2);
  CHECK((fs::status(fresh).permissions() & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
  REQUIRE(fs::is_regular_file(r2.cacheFile));
  // An entry that is a FIFO, or a directory: a miss, no hang, no error.
  fs::remove(r2.cacheFile);
  REQUIRE(::mkfifo(r2.cacheFile.c_str(), 0600) == 0);
  CompileReport r3;
  CompiledGraph::compile(planned, {fresh, true}, &r3);
  CHECK_FALSE(r3.cacheHit);
  CHECK(fs::is_fifo(r2.cacheFile));  // not replaced: not a file graphc made
  fs::remove(r2.cacheFile);
  fs::create_directory(r2.cacheFile);
  CompileReport r4;
  CompiledGraph::compile(planned, {fresh, true}, &r4);
  CHECK_FALSE(r4.cacheHit);
  fs::remove_all(r2.cacheFile);
  // A link to /dev/zero in place of an entry: a miss, not a read until memory runs out.
  fs::create_symlink("/dev/zero", r2.cacheFile);
  CompileReport r5;
  CompiledGraph::compile(planned, {fresh, true}, &r5);
  CHECK_FALSE(r5.cacheHit);
}

TEST_CASE("cache: an entry whose object lacks the graph's symbols is dropped and rebuilt; pruning touches only its own files") {
  Graph planned = smallPlannedStep();
  namespace fs = std::filesystem;
  std::string dir = std::string(GRAPHC_SCRATCH_DIR) + "/test-cache-forged";
  fs::remove_all(dir);
  CompileReport first;
  CompiledGraph::compile(planned, {dir, true}, &first);
  REQUIRE(fs::is_regular_file(first.cacheFile));
  // The same key over a valid object of another module (it defines other_symbol, not graphc_entry):
  // every later run failed with "Symbols not found: graphc_entry".
  std::string bytes = readFileBounded(first.cacheFile, ObjectCache::kMaxEntryBytes, "the entry");
  uint64_t keySize;
  std::memcpy(&keySize, bytes.data() + 8, 8);
  std::string header = bytes.substr(0, 16 + keySize);
  llvm::LLVMContext ctx;
  llvm::Module other("other", ctx);
  auto* f = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), false),
                                   llvm::Function::ExternalLinkage, "other_symbol", other);
  llvm::IRBuilder<>(llvm::BasicBlock::Create(ctx, "entry", f)).CreateRetVoid();
  auto tm = createTargetMachine(hostTarget());
  other.setDataLayout(tm->createDataLayout());
  std::string object = emitMachineCode(other, *tm, llvm::CodeGenFileType::ObjectFile);
  uint64_t size = object.size(), checksum = llvm::xxh3_64bits(llvm::StringRef(object));
  std::string forged = header + std::string(reinterpret_cast<const char*>(&size), 8) +
                       std::string(reinterpret_cast<const char*>(&checksum), 8) + object;
  writeFileSafely(first.cacheFile, forged);
  CompileReport second;
  CHECK_NOTHROW(CompiledGraph::compile(planned, {dir, true}, &second));
  CHECK_FALSE(second.cacheHit);
  CompileReport third;
  CompiledGraph::compile(planned, {dir, true}, &third);
  CHECK(third.cacheHit);  // rebuilt and stored again
  // Files that are not the cache's stay, however old; a stale temporary of an entry goes.
  auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  for (const char* name : {"thesis.tmp.txt", "notes.gobj", "0123456789abcdef.gobj.tmp.Ab12Cd"}) {
    writeFileSafely(dir + "/" + name, "x");
    fs::last_write_time(dir + "/" + name, old);
  }
  fs::remove(first.cacheFile);  // a miss, so the store prunes
  CompileReport fourth;
  CompiledGraph::compile(planned, {dir, true}, &fourth);
  CHECK(fs::exists(dir + "/thesis.tmp.txt"));
  CHECK(fs::exists(dir + "/notes.gobj"));
  CHECK_FALSE(fs::exists(dir + "/0123456789abcdef.gobj.tmp.Ab12Cd"));
}

TEST_CASE("the portable runtime implements every kernel of RuntimeKernels.def with its parameter types") {
  std::string problems;
  for (const std::string& p : portableKernelMismatches()) problems += p + "\n";
  CHECK_MESSAGE(problems.empty(), problems);
}

TEST_CASE("a fused body's k-th input is the kernel's k-th operand, whatever its name") {
  // Named against their order (%b stands for operand 0): position, not name, decides.
  Graph g = parseGraph(R"(graph @g {
  %x = input : f32[2,3]
  %y = input : f32[2,3]
  %k = fused(%x, %y) : f32[2,3] {
    %b = input : f32[2,3]
    %a = input : f32[2,3]
    %d = sub(%b, %a) : f32[2,3]
    %e = exp(%a) : f32[2,3]
    %r = mul(%d, %e) : f32[2,3]
    output "result" = %r
  }
  output "k" = %k
})");
  TensorMap vars{{"x", Tensor::f32({2, 3}, {1, 2, 3, 4, 5, 6})}, {"y", Tensor::f32({2, 3}, {0.5, 0, -1, 1, 2, -2})}};
  TensorMap v1 = vars, v2 = vars;
  Tensor ref = Interpreter(g).run(v1).at("k");
  for (int64_t i = 0; i < 6; ++i) {
    double x = vars["x"].at(i), y = vars["y"].at(i);
    CHECK(ref.at(i) == doctest::Approx((x - y) * std::exp(y)).epsilon(1e-6));
  }
  JitEngine jit(g, {testCacheDir(), true});
  checkClose(jit.run(v2).at("k"), ref, "fused body with inputs named out of order", 1e-6, 1e-6);
}

TEST_CASE("i32 arithmetic: the JIT and the evaluator wrap alike; x / 0 = 0 and INT32_MIN / -1 = INT32_MIN, no trap") {
  Graph g;
  Builder b(g);
  Value x = b.input("x", DType::I32, {6}), y = b.input("y", DType::I32, {6});
  b.output("sum", x + y);
  b.output("product", x * y);
  b.output("quotient", x / y);
  b.output("negation", -x);
  const int32_t lo = INT32_MIN, hi = INT32_MAX;
  TensorMap vars{{"x", Tensor::i32({6}, {lo, hi, 7, lo, -7, 5})}, {"y", Tensor::i32({6}, {-1, 2, 0, lo, -1, 3})}};
  TensorMap v1 = vars, v2 = vars;
  TensorMap want = Interpreter(g).run(v1);
  JitEngine jit(g, {testCacheDir(), true});
  TensorMap got = jit.run(v2);
  for (const char* name : {"sum", "product", "quotient", "negation"}) {
    INFO(name);
    CHECK(got.at(name).i32Vector() == want.at(name).i32Vector());
  }
  CHECK(want.at("quotient").i32Vector() == std::vector<int32_t>{lo, hi / 2, 0, 1, 7, 1});
  CHECK(want.at("sum").i32()[1] == int32_t(uint32_t(hi) + 2u));  // wraps
}
// The gates' columns of one product are read in place by the cell's kernels,
// forward (with a bias: a row broadcast) and backward (a flat body but for the slice).
TEST_CASE("jit: a 2-layer word LSTM's training step with dropout, loss and every update") {
  ModelConfig c = test::smallWordLstmWithDropout();
  c.training = true;
  OptimizerConfig oc;
  Graph g = buildTrainingGraph(findModel("lstm-lm"), c, oc);
  Rng rng(9);
  TensorMap vars = initializeParams(buildModelGraph(findModel("lstm-lm"), c), rng);
  for (auto& [name, t] : zeroState(g)) vars[name] = randomTensor(t.type(), rng, -0.5, 0.5);
  for (const char* in : {"X", "Y"}) {
    Tensor t(DType::I32, {2, 3});
    for (int64_t i = 0; i < t.size(); ++i) t.i32()[i] = int32_t(rng.uniformInt(0, 8));
    vars[in] = t;
  }
  Tensor key(DType::I32, {3});
  key.i32()[0] = 1;
  key.i32()[1] = 2;
  vars["rng_key"] = key;
  TensorMap v1 = vars, v2 = vars;
  auto ref = Interpreter(g).run(v1);
  JitEngine jit(g, {testCacheDir(), true});
  auto got = jit.run(v2);
  for (const auto& [name, t] : ref) checkClose(got.at(name), t, std::string("output ") + name);
  for (const auto& [name, t] : v1) checkClose(v2.at(name), t, std::string("value ") + name);
}
