// tests/WordModelTests.cpp — word-level text, evaluation that counts every
// token, and the word models (nplm, lstm-lm) against finite differences.
#include <cmath>
#include <fmt/format.h>
#include <fstream>

#include "GradientCheck.h"
#include "TestUtil.h"
#include "graph/Verifier.h"
#include "models/Layers.h"
#include "models/Model.h"
#include "passes/Autodiff.h"
#include "runtime/Corpus.h"
#include "runtime/Evaluator.h"
#include "runtime/Initializers.h"
#include "runtime/Interpreter.h"
#include "runtime/Trainer.h"
#include "runtime/Words.h"

using namespace graphc;
using graphc::test::scratchFile;

namespace {

// logits = table[x]: each prediction depends on the previous token alone, so
// the perplexity of a text can be computed by hand, stream cuts or not.
const ModelDef& bigramModel() {
  static const ModelDef def = [] {
    registerModel({.name = "test-bigram",
                   .description = "a table of next-token logits per token",
                   .defaultHidden = 1,
                   .build = [](Builder& b, Value tokens, const ModelConfig& c) {
                     Value table = b.param("table", {c.vocab, c.vocab}, Init::normal(1.0));
                     return nn::timeMajor(nn::embedSteps(table, tokens));
                   },
                   .stacksLayers = false});
    return findModel("test-bigram");
  }();
  return def;
}

}  // namespace

TEST_CASE("--text words: whitespace tokens, <unk> first, then by descending count, ties by first occurrence") {
  Vocab v = wordVocabFrom("the cat  sat\n on\tthe mat , the cat <unk>\r\n", 1);
  CHECK(v.words());
  CHECK(v.tokens() == std::vector<std::string>{"<unk>", "the", "cat", "sat", "on", "mat", ","});
  CHECK(v.encode("the dog sat <unk>") == std::vector<int32_t>{1, 0, 3, 0});  // unknown words and <unk> itself: 0
  CHECK(v.decode({1, 2, 3}) == "the cat sat");
  CHECK(v.firstUnknown("the dog sat") == "dog");
  CHECK(v.firstUnknown("the <unk> sat") == "");
  // --min-count 2: words seen once become <unk>.
  CHECK(wordVocabFrom("a b a c b a", 2).tokens() == std::vector<std::string>{"<unk>", "a", "b"});

  Corpus c = loadCorpus(scratchFile("words.txt", "x y x\nz x y\n"), 0, TextMode::Words);
  CHECK(c.tokens == std::vector<int32_t>{1, 2, 1, 3, 1, 2});
  TextOptions listed;
  listed.mode = TextMode::Words;
  listed.vocabFile = scratchFile("vocab.txt", "<unk>\ny\nq\n");
  Corpus fromList = loadCorpus(scratchFile("words.txt", "x y x\nz x y\n"), 0, listed);
  CHECK(fromList.vocab.tokens() == std::vector<std::string>{"<unk>", "y", "q"});
  CHECK(fromList.tokens == std::vector<int32_t>{0, 1, 0, 0, 0, 1});
  // Held-out text: every word counts, unknown ones as <unk>.
  CHECK(loadHeldOut(scratchFile("held.txt", "y never q\n"), fromList.vocab, TextMode::Words, "--val-data") ==
        std::vector<int32_t>{1, 0, 2});

  CHECK_THROWS_WITH_AS(readWordVocab(scratchFile("dup.txt", "a\nb\na\n")), doctest::Contains("dup.txt:3: error: the vocabulary lists 'a' twice"), Error);
  CHECK_THROWS_WITH_AS(readWordVocab(scratchFile("none.txt", "\n\n")), doctest::Contains("lists no tokens"), Error);
  CHECK_THROWS_WITH_AS(loadCorpus(scratchFile("blank.txt", " \n\t\n"), 0, TextMode::Words), doctest::Contains("has no words"), Error);
  CHECK_THROWS_WITH_AS(loadHeldOut(scratchFile("one.txt", "y\n"), fromList.vocab, TextMode::Words, "--test-data"),
                       doctest::Contains("at least 2"), Error);
  CHECK_THROWS_WITH_AS(loadHeldOut(scratchFile("empty.txt", ""), fromList.vocab, TextMode::Words, "--val-data"),
                       doctest::Contains("empty"), Error);
  TextOptions zero = listed;
  zero.vocabFile.clear();
  zero.minCount = 0;
  CHECK_THROWS_WITH_AS(loadCorpus(scratchFile("words.txt", "x y\n"), 0, zero), doctest::Contains("--min-count 0"), Error);
}

TEST_CASE("evaluation counts every token but the first, tail included, batched as one row") {
  const ModelDef& model = bigramModel();
  ModelConfig c;
  c.vocab = 5;
  c.hidden = 1;
  c.numLayers = 1;
  Graph forward = buildModelGraph(model, c);
  Rng rng(3);
  TensorMap params = initializeParams(forward, rng);
  const Tensor& table = params.at("table");
  // 24 tokens, 23 predictions: 4 streams of 5 and a tail of 3; windows of 3 (and a last one of 2).
  std::vector<int32_t> tokens;
  for (int i = 0; i < 24; ++i) tokens.push_back(int32_t((i * 7 + i / 3) % 5));
  double byHand = 0;
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    const float* row = table.f32() + tokens[i] * 5;
    double norm = 0;
    for (int k = 0; k < 5; ++k) norm += std::exp(double(row[k]));
    byHand += std::log(norm) - double(row[tokens[i + 1]]);
  }
  for (const char* engine : {"interp", "jit"})
    for (int64_t batch : {1, 4, 23, 64}) {
      INFO(engine << " batch " << batch);
      c.batchSize = batch;
      c.numSteps = 3;
      Evaluator evaluator(model, c, engine);
      Evaluation e = evaluator.evaluate(params, tokens);
      CHECK(e.tokens == 23);
      CHECK(e.lossSum == doctest::Approx(byHand).epsilon(1e-5));
      CHECK(e.perplexity() == doctest::Approx(std::exp(byHand / 23)).epsilon(1e-5));
    }
}

TEST_CASE("evaluation carries the state: one stream in windows equals one window over the whole text") {
  ModelConfig c;
  c.vocab = 7;
  c.hidden = 4;
  c.numLayers = 1;
  c.settings = {{"n", 4}, {"m", 3}, {"direct", 1}};
  const ModelDef& model = findModel("nplm");
  Rng rng(5);
  TensorMap params = initializeParams(buildModelGraph(model, c), rng);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 31; ++i) tokens.push_back(int32_t((i * 3 + i / 4) % 7));
  c.batchSize = 1;
  c.numSteps = 30;
  double whole = Evaluator(model, c, "interp").evaluate(params, tokens).lossSum;
  c.numSteps = 4;  // 7 windows of 4 and one of 2, the context carried across each cut
  CHECK(Evaluator(model, c, "jit").evaluate(params, tokens).lossSum == doctest::Approx(whole).epsilon(1e-5));
}

TEST_CASE("word models: nplm (context carried as i32 state) and lstm-lm gradients match finite differences") {
  struct Case {
    const char* model;
    std::map<std::string, double> settings;
    int64_t layers;
  };
  for (const Case& k : {Case{"nplm", {{"n", 4}, {"m", 2}, {"direct", 1}}, 1}, Case{"nplm", {{"n", 2}, {"m", 3}, {"direct", 0}}, 1},
                        Case{"lstm-lm", {{"embed", 3}}, 2}, Case{"gru-lm", {{"tie", 1}}, 1}}) {
    INFO(k.model);
    ModelConfig c;
    c.batchSize = 2;
    c.numSteps = 3;
    c.hidden = 4;
    c.vocab = 6;
    c.numLayers = k.layers;
    c.settings = k.settings;
    c = withModelDefaults(findModel(k.model), c);
    Graph g = buildModelGraph(findModel(k.model), c);
    Rng rng(7);
    TensorMap vars = test::randomModelVars(g, rng, 2, 3, 5);
    test::checkParamGradients(std::move(g), vars);
  }
}

TEST_CASE("word models refuse settings that make no model; nplm drops out only when training") {
  ModelConfig c;
  c.vocab = 6;
  c.hidden = 4;
  c.settings = {{"n", 1}};
  c = withModelDefaults(findModel("nplm"), c);
  CHECK_THROWS_WITH_AS(buildModelGraph(findModel("nplm"), c), doctest::Contains("--set n=1: must be a whole number in 2..16"), Error);
  c.settings = {{"n", 3}, {"dropout", 1}};
  c.training = true;
  CHECK_THROWS_WITH_AS(buildModelGraph(findModel("nplm"), c), doctest::Contains("--set dropout=1: must be in [0, 1)"), Error);
  c.settings = {{"n", 3}, {"dropout", 0.3}};
  CHECK(buildModelGraph(findModel("nplm"), c).nodesOf(OpKind::RandomUniform).size() == 2);  // embeddings, tanh layer
  c.training = false;
  CHECK(buildModelGraph(findModel("nplm"), c).nodesOf(OpKind::RandomUniform).empty());
  ModelConfig t;
  t.vocab = 6;
  t.hidden = 4;
  t.settings = {{"tie", 1}, {"embed", 3}};
  t = withModelDefaults(findModel("lstm-lm"), t);
  CHECK_THROWS_WITH_AS(buildModelGraph(findModel("lstm-lm"), t), doctest::Contains("must be as wide as the hidden layer"), Error);
}

TEST_CASE("dropout: inverted masks from the counter-based generator, keyed by row; the same on every engine") {
  auto build = [](int64_t rows, bool variational) {
    Graph g;
    Builder b(g);
    std::vector<Value> xs = {b.input("x0", DType::F32, {rows, 64}), b.input("x1", DType::F32, {rows, 64})};
    std::vector<Value> ys = nn::dropout(xs, 0.25, true, variational);
    b.output("y0", ys[0]);
    b.output("y1", ys[1]);
    return g;
  };
  auto run = [](const Graph& g, const char* engine, int64_t rows, int32_t firstRow, int32_t step) {
    TensorMap vars;
    for (const char* x : {"x0", "x1"}) vars[x] = Tensor::f32({rows, 64}, std::vector<float>(size_t(rows * 64), 1.0f));
    vars["rng_key"] = Tensor::i32({3}, {77, step, firstRow});
    return createEngine(engine, g)->run(vars);
  };
  Graph whole = build(4, false);
  TensorMap interp = run(whole, "interp", 4, 0, 5), jit = run(whole, "jit", 4, 0, 5);
  const Tensor& y = interp.at("y0");
  int64_t kept = 0;
  for (int64_t i = 0; i < y.size(); ++i) {
    CHECK((y.f32()[i] == 0.0f || y.f32()[i] == doctest::Approx(1 / 0.75)));
    kept += y.f32()[i] != 0.0f;
    CHECK(jit.at("y0").f32()[i] == y.f32()[i]);  // bit for bit across engines
  }
  CHECK(double(kept) / double(y.size()) == doctest::Approx(0.75).epsilon(0.1));
  CHECK(interp.at("y0").f32Vector() != interp.at("y1").f32Vector());          // a fresh mask per step
  CHECK(run(whole, "interp", 4, 0, 6).at("y0").f32Vector() != y.f32Vector());  // and per training step
  // Rows 2..3 on their own (a rank holding them) draw what the whole batch draws there.
  TensorMap half = run(build(2, false), "jit", 2, 2, 5);
  for (int64_t i = 0; i < 2 * 64; ++i) CHECK(half.at("y0").f32()[i] == y.f32()[2 * 64 + i]);
  // Variational: one mask for every step.
  TensorMap v = run(build(4, true), "interp", 4, 0, 5);
  CHECK(v.at("y0").f32Vector() == v.at("y1").f32Vector());
  Graph g;
  Builder b(g);
  CHECK_THROWS_WITH_AS(nn::dropout(b.input("x", DType::F32, {2, 2}), 1.0, true), doctest::Contains("outside [0, 1)"), Error);
}

TEST_CASE("lstm-lm with dropout: dropout in the training graph only; interpreter and JIT train alike") {
  ModelConfig c = test::smallWordLstmWithDropout();
  CHECK(buildModelGraph(findModel("lstm-lm"), c).nodesOf(OpKind::RandomUniform).empty());  // evaluation, generation
  c.training = true;
  CHECK(buildModelGraph(findModel("lstm-lm"), c).nodesOf(OpKind::RandomUniform).size() == 9);  // 3 sites x 3 steps

  Corpus corpus;
  corpus.vocab = wordVocabFrom("a b c d e f g h", 1);
  for (int i = 0; i < 400; ++i) corpus.tokens.push_back(int32_t(1 + (i * 5 + i / 7) % 8));
  std::vector<std::vector<double>> losses;
  for (const char* engine : {"interp", "jit"}) {
    TrainOptions o;
    o.model = c;
    o.model.training = false;  // the trainer turns it on for its step graph
    o.optimizer.kind = "adam";
    o.optimizer.learningRate = 0.01;
    o.engine = engine;
    o.seed = 3;
    Trainer t(findModel("lstm-lm"), o, corpus);
    losses.emplace_back();
    t.onStep = [&](double loss) { losses.back().push_back(loss); };
    t.trainEpoch();
  }
  REQUIRE(losses[0].size() == losses[1].size());
  for (size_t i = 0; i < losses[0].size(); ++i) CHECK(losses[0][i] == doctest::Approx(losses[1][i]).epsilon(1e-4));
}
