// tests/DotTests.cpp — graph pictures (graph/Dot.h): roles coloured, fused
// kernels as clusters, repeated steps drawn once with their count.
#include "TestUtil.h"
#include "graph/Dot.h"
#include "graph/TextIR.h"
#include "models/Model.h"
#include "driver/Pipeline.h"

using namespace graphc;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("dot: roles, shapes on edges, fused bodies, outputs and updates") {
  Graph g = parseGraph(R"(graph @g {
  %x = input : f32[2,3]
  %w = param : f32[1,3,4]
  %h = state : f32[2,4]
  %m = packed_matmul(%x, %w) {n = 4} : f32[2,4]
  %f = fused(%m, %h) {epilogue = 1} : f32[2,4] {
    %arg0 = input : f32[2,4]
    %arg1 = input : f32[2,4]
    %0 = add(%arg0, %arg1) : f32[2,4]
    %1 = tanh(%0) : f32[2,4]
    output "result" = %1
  }
  output "y" = %f
  update %h = %f
})");
  std::string dot = printDot(g);
  CHECK(dot.rfind("digraph \"g\" {", 0) == 0);
  CHECK(count(dot, "fillcolor=\"#ffe599\"") == 1);  // the param
  CHECK(count(dot, "fillcolor=\"#f4cccc\"") == 1);  // the state
  CHECK(count(dot, "fillcolor=\"#cfe2f3\"") == 1);  // the input
  CHECK(count(dot, "subgraph cluster_f4") == 1);
  CHECK(dot.find("epilogue of the product before it") != std::string::npos);
  CHECK(dot.find("n0 -> n3 [label=\"2x3\"]") != std::string::npos);
  CHECK(dot.find("packed_matmul (packed B)") != std::string::npos);
  // Operands enter the fused body where %argK is read; its result leaves from tanh.
  CHECK(dot.find("n3 -> f4_2 [label=\"2x4\"]") != std::string::npos);
  CHECK(dot.find("n2 -> f4_2 [label=\"2x4\"]") != std::string::npos);
  CHECK(dot.find("f4_3 -> out0") != std::string::npos);
  CHECK(dot.find("f4_3 -> n2 [style=dashed, color=\"#cc0000\", label=\"update\"]") != std::string::npos);
}

TEST_CASE("dot: the unrolled steps of the seed's training step are drawn once, with their count") {
  ModelConfig c;
  c.numSteps = 12;
  PipelineConfig p;
  Graph g = lowerGraph(optimizeGraph(buildModelGraph(findModel("rnn-scratch"), c), p), p.target);
  std::string collapsed = printDot(g), expanded = printDot(g, {false});
  CHECK(collapsed.find("x 11 (repeated 11 times") != std::string::npos);  // the forward steps after the first
  CHECK(expanded.find("repeated") == std::string::npos);
  CHECK(count(collapsed, "->") * 2 < count(expanded, "->"));
  CHECK(count(collapsed, " [label=") * 2 < count(expanded, " [label="));
  CHECK(count(expanded, "subgraph cluster_f") > count(collapsed, "subgraph cluster_f"));
}

TEST_CASE("dot: params and state drawn in a box per layer, named after it") {
  Graph g = parseGraph(R"(graph @g {
  %x = input : f32[2,3]
  %rnn0.input.kernel = param : f32[3,4]
  %rnn0.h = state : f32[2,4]
  %dense0.kernel = param : f32[4,4]
  %loose = param : f32[4]
  %0 = matmul(%x, %rnn0.input.kernel) : f32[2,4]
  %1 = add(%0, %rnn0.h) : f32[2,4]
  %2 = matmul(%1, %dense0.kernel) : f32[2,4]
  output "y" = %2
})");
  std::string dot = printDot(g);
  CHECK(dot.find("subgraph \"cluster_layer_rnn0\" {\n    label=\"rnn0\";") != std::string::npos);
  CHECK(dot.find("label=\"rnn0\"; style=\"rounded\"; color=\"#b7b7b7\"; fontsize=11;\n  n1 [label=\"%rnn0.input.kernel\\nparam 3x4\", "
                 "fillcolor=\"#ffe599\"];\n  n2 [label=\"%rnn0.h\\nstate 2x4\", fillcolor=\"#f4cccc\"];\n  }") != std::string::npos);
  CHECK(dot.find("label=\"dense0\"; style=\"rounded\"; color=\"#b7b7b7\"; fontsize=11;\n  n3 [") != std::string::npos);
  CHECK(count(dot, "cluster_layer_") == 2);  // %loose has no layer
}

// The text between `open` and the end of the cluster it opens (its closing "  }" at the same depth).
static std::string clusterText(const std::string& dot, const std::string& open) {
  size_t at = dot.find(open);
  if (at == std::string::npos) return "";
  int depth = 0;
  for (size_t i = at; i < dot.size(); ++i) {
    if (dot[i] == '{') ++depth;
    if (dot[i] == '}' && --depth == 0) return dot.substr(at, i - at);
  }
  return "";
}

TEST_CASE("dot: a stack's computed nodes drawn in their layer's box, in the steps' box too") {
  ModelConfig c{2, 4, 8, 10, 2};
  PipelineConfig p;
  p.trainingStep = false;
  Graph g = lowerGraph(optimizeGraph(buildModelGraph(findModel("lstm"), c), p), p.target);
  std::string dot = printDot(g);
  std::string layer0 = clusterText(dot, "subgraph \"cluster_layer_layer0\""),
              layer1 = clusterText(dot, "subgraph \"cluster_layer_layer1\"");
  REQUIRE(!layer0.empty());
  REQUIRE(!layer1.empty());
  // Beside the params, the cells' kernels of the first step (before the repeated ones)...
  CHECK(count(layer0, "subgraph cluster_f") >= 2);
  CHECK(count(layer1, "subgraph cluster_f") >= 2);
  // ...the repeated steps of layer 0 alone inside its box, and inside a run of
  // steps that also holds nodes of no layer (the merged products), a box for layer 1.
  CHECK(count(layer0, "subgraph cluster_run") == 1);
  CHECK(dot.find("_layer1\" {\n    label=\"layer1\"; style=\"rounded\"; color=\"#b7b7b7\"; fontsize=10;") != std::string::npos);
  // Gradients are drawn where their forward nodes are.
  p.trainingStep = true;
  Graph step = optimizeGraph(buildModelGraph(findModel("lstm"), c), p);
  size_t grouped = 0, fromAutodiff = 0;
  for (const Node& n : step.nodes) {
    if (n.name.rfind("grad.", 0) == 0 || isSignature(n.op)) continue;
    ++fromAutodiff;
    grouped += !n.group.empty();
  }
  CHECK(grouped * 2 > fromAutodiff);
}
