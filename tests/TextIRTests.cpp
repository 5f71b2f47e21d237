// tests/TextIRTests.cpp — printer/parser round trips and the errors for bad IR.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "TestUtil.h"
#include "graph/Constant.h"
#include "graph/Verifier.h"
#include "models/Model.h"

using namespace graphc;
using graphc::test::parseError;

namespace {

const char* kSmall = R"(graph @small {
  %x = input : f32[2,3]
  %w = param {init = "normal", scale = 0.01} : f32[3,4]
  %b = param {init = "zeros"} : f32[4]
  %h = state : f32[2,4]
  %c = constant {value = 0.5} : f32[]
  %k = constant {value = 3} : i32[]
  %0 = matmul(%x, %w) : f32[2,4]
  %1 = broadcast(%b) {shape = [2, 4]} : f32[2,4]
  %2 = add(%0, %1) : f32[2,4]
  %3 = tanh(%2) : f32[2,4]
  %4 = broadcast(%c) {shape = [2, 4]} : f32[2,4]
  %5 = mul(%3, %4) : f32[2,4]
  %6 = reduce_sum(%5) {axes = [0, 1]} : f32[]
  %7 = compare(%3, %h) {pred = "gt"} : i32[2,4]
  %8 = select(%7, %3, %h) : f32[2,4]
  %9 = concat(%8, %8, %8) {axis = 1} : f32[2,12]
  %10 = matmul(%x, %9) {transpose_a = 1, transpose_b = 0} : f32[3,12]
  output "loss" = %6
  output "wide" = %10
  update %h = %8
}
)";

}  // namespace

TEST_CASE("round trip of a hand-written graph is exact") {
  Graph g = parseGraph(kSmall, "small.gir");
  CHECK(printGraph(g) == kSmall);
  CHECK(g.name == "small");
  CHECK(g.outputs.size() == 2);
  CHECK(g.updates.size() == 1);
}

TEST_CASE("an f32 constant holds a float, prints it in its shortest form and parses back") {
  for (double v : {0.1, 1.0, -2.5e-8, 1e30, 0.01, 3.0000000000000004, 16777217.0}) {
    Graph g;
    g.name = "c";
    Node n;
    n.op = OpKind::Constant;
    n.name = "c";
    n.type = {DType::F32, {}};
    setConstantValue(n, v);
    CHECK(attrFloat(n.attrs, "value") == double(float(v)));
    g.add(n);
    g.outputs.push_back({"c", 0, {}});
    std::string text = printGraph(g);
    Graph back = parseGraph(text);
    CHECK(constantValue(back.node(0)) == double(float(v)));
    CHECK(printGraph(back) == text);
  }
  // Written with more digits than a float has, a value is rounded as it is read.
  Graph g = parseGraph("graph @c {\n  %c = constant {value = 0.10000000000000001} : f32[]\n  output \"c\" = %c\n}\n");
  CHECK(attrFloat(g.node(0).attrs, "value") == double(0.1f));
  CHECK(printGraph(g).find("{value = 0.1}") != std::string::npos);
}

TEST_CASE("a double attribute prints in its shortest exact form and parses back") {
  for (double v : {0.1, -2.5e-8, 3.0000000000000004, double(0.1f)}) {
    Graph g;
    g.name = "p";
    Node n;
    n.op = OpKind::Param;
    n.name = "p";
    n.attrs = {{"init", std::string("normal")}, {"scale", v}};
    n.type = {DType::F32, {2}};
    g.add(n);
    g.outputs.push_back({"p", 0, {}});
    Graph back = parseGraph(printGraph(g));
    CHECK(attrFloat(back.node(0).attrs, "scale") == v);
  }
}

TEST_CASE("an i32 constant out of range is refused at its line") {
  CHECK_THROWS_WITH_AS(parseGraph("graph @c {\n  %c = constant {value = 2147483648} : i32[]\n  output \"c\" = %c\n}\n"),
                       doctest::Contains(":2:3: error: %c: i32 constant value 2147483648 is out of range"), Error);
}

TEST_CASE("comments and whitespace are accepted; printing canonicalizes") {
  std::string text = "// a comment\ngraph @g{\n%a=input:f32[2]  // trailing\n output \"a\" = %a }";
  Graph g = parseGraph(text);
  CHECK(printGraph(g) == "graph @g {\n  %a = input : f32[2]\n  output \"a\" = %a\n}\n");
}

TEST_CASE("the seed model's graph round-trips") {
  for (int64_t steps : {1, 3, 35}) {
    ModelConfig c;
    c.numSteps = steps;
    Graph g = buildModelGraph(findModel("rnn-scratch"), c);
    verify(g);
    std::string text = printGraph(g);
    Graph back = parseGraph(text, "seed.gir");
    CHECK(printGraph(back) == text);
  }
}

TEST_CASE("the parser refuses bad IR with file:line:col") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "t.gir:1:1: error: empty input: expected 'graph @name {'"},
      {"   \n  ", "t.gir:2:3: error: empty input"},
      {"graph @g {\n  %a = frobnicate : f32[2]\n}", "t.gir:2:8: error: unknown op 'frobnicate'"},
      {"graph @g {\n  %a = input : f32[2]\n  %b = tanh(%a, %a) : f32[2]\n}",
       "t.gir:3:3: error: %b: 'tanh' takes 1 operand, got 2"},
      {"graph @g {\n  %a = input : f32[2]\n  %b = input : f32[3]\n  %c = add(%a, %b) : f32[2]\n}",
       "t.gir:4:3: error: %c: operand types differ: f32[2] vs f32[3]"},
      {"graph @g {\n  %a = input : f32[2]\n  %b = tanh(%a) : f32[3]\n}",
       "t.gir:3:3: error: %b: declared type f32[3] but 'tanh' gives f32[2]"},
      {"graph @g {\n  %a = input : f32[2]\n  %b = tanh(%zz) : f32[2]\n}",
       "t.gir:3:13: error: use of undefined value %zz"},
      {"graph @g {\n  %a = input : f32[2]\n  %a = input : f32[2]\n}",
       "t.gir:3:3: error: redefinition of %a (first defined at 2:3)"},
      {"graph @g {\n  %a = tanh(%b) : f32[2]\n  %b = tanh(%a) : f32[2]\n}",
       "t.gir:2:13: error: %b is used before its definition at line 3"},
      {"graph @g {\n  %a = input : f32[2]\n  %b = tanh(%b) : f32[2]\n}",
       "t.gir:3:13: error: %b is used before its definition at line 3"},
      {"graph @g {\n  %a = input : f32[2]\n  %b = tanh(%a", "t.gir:3:15: error: expected ')', got end of input"},
      {"graph @g {\n  %a = input : f32[2]\n", "t.gir:3:1: error: unexpected end of input"},
      {"graph @g {\n  %a = input : f32[2]\n}\n}", "t.gir:4:1: error: unexpected '}' after the end of the graph"},
      {"\x7f\x45\x4c\x46\x02\x01", "t.gir:1:1: error: unexpected character byte 0x7f"},
      {"graph @g {\n  %a = input : f32[99999999999,99999999999]\n}",
       "t.gir:2:20: error: dimension 99999999999 is too large"},
      {"graph @g {\n  %a = input : f32[131072,131072,131072]\n}",
       "t.gir:2:3: error: %a: shape [131072,131072,131072] has more than 2^34 elements"},
      {"graph @g {\n  %a = input : f32[99999999999999999999999]\n}",
       "t.gir:2:20: error: integer '99999999999999999999999' is out of range"},
      {"graph @g {\n  %a = input : f32[-1]\n}", "t.gir:2:20: error: negative dimension -1"},
      {"graph @g {\n  %a = input : f64[2]\n}", "t.gir:2:16: error: expected a type such as f32[2,3], got 'f64'"},
      {"graph @g {\n  %a = input : f32[2]\n  output \"a\" = %a\n  output \"a\" = %a\n}",
       "t.gir:4:3: error: duplicate output \"a\""},
      {"graph @g {\n  %a = input : f32[2]\n  %b = tanh(%a) : f32[2]\n  update %a = %b\n}",
       "t.gir:4:3: error: update target %a is a 'input', not a param or state"},
      {"graph @g {\n  %a = input : f32[2,3]\n  %b = reduce_sum(%a) {axes = [2]} : f32[2]\n}",
       "t.gir:3:3: error: %b: axis 2 out of range for rank 2"},
      {"graph @g {\n  %a = input : f32[2,3]\n  %b = reduce_sum(%a) : f32[2]\n}",
       "t.gir:3:3: error: %b: missing attribute 'axes'"},
      {"graph @g {\n  %a = input : f32[2,3]\n  %b = reshape(%a) {shape = [4]} : f32[4]\n}",
       "t.gir:3:3: error: %b: cannot reshape [2,3] to [4]: element counts differ"},
      {"graph @g {\n  %a = input : f32[2,3]\n  %b = matmul(%a, %a) : f32[2,3]\n}",
       "t.gir:3:3: error: %b: matmul contraction mismatch"},
      {"graph @g {\n  %a = input {x = \"abc} : f32[2]\n}", "t.gir:2:19: error: unterminated string"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    std::string err = parseError(c.text);
    CHECK_MESSAGE(err.rfind(c.message, 0) == 0, err);
    CHECK(err.find('\n') == std::string::npos);
  }
}

TEST_CASE("the verifier refuses bad built graphs") {
  Graph g;
  g.sourceName = "built";
  Node a;
  a.op = OpKind::Input;
  a.name = "a";
  a.type = {DType::F32, {2}};
  g.add(a);
  Node b;
  b.op = OpKind::Tanh;
  b.name = "b";
  b.operands = {2};  // not defined before use
  b.type = {DType::F32, {2}};
  g.add(b);
  Node c = b;
  c.name = "c";
  c.operands = {0};
  g.add(c);
  CHECK_THROWS_WITH_AS(verify(g), "built: error: %b: operand is not defined before its use", Error);
  g.node(1).operands = {0};
  verify(g);
  g.node(2).name = "b";
  CHECK_THROWS_WITH_AS(verify(g), "built: error: %b: duplicate value name", Error);
}

TEST_CASE("every IR file under tests/ir and tests/passes round-trips") {
  // Found by glob: a new file is tested without being listed anywhere.
  int count = 0;
  for (const char* dir : {"/ir", "/passes"})
    for (const auto& entry : std::filesystem::directory_iterator(std::string(GRAPHC_TEST_DIR) + dir)) {
      if (entry.path().extension() != ".gir") continue;
      INFO(entry.path().string());
      Graph g = parseGraphFile(entry.path().string());
      std::string text = printGraph(g);
      CHECK(printGraph(parseGraph(text)) == text);
      ++count;
    }
  CHECK(count >= 17);
}

TEST_CASE("strings with control bytes print escaped and parse back; messages escape untrusted text") {
  Graph g = parseGraph("graph @g {\n  %x = input : f32[2]\n  output \"a\\x0ab\\tc\\x1b[31m\" = %x\n}\n");
  REQUIRE(g.outputs[0].name == std::string("a\nb\tc\x1b[31m"));
  std::string text = printGraph(g);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("output \"a\\nb\\tc\\x1b[31m\"") != std::string::npos);
  CHECK(printGraph(parseGraph(text)) == text);
  CHECK_THROWS_WITH_AS(parseGraph("graph @g {\n  output \"\\xq1\" = %x\n}\n", "s.gir"),
                       "s.gir:2:10: error: \\x in a string needs two hex digits", Error);
  CHECK(escapeForMessage("a\nb\x1b[2J") == "a\\x0ab\\x1b[2J");
  CHECK(escapeForMessage(std::string(100, 'z')).size() == 67);
}
