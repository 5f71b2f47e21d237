// graph/TextIR.h — the textual IR: printer and parser.
//
//   graph @name {
//     %X = input : i32[32,35]
//     %W = param {init = "normal", scale = 0.01} : f32[28,512]
//     %0 = matmul(%a, %W) {transpose_b = 1} : f32[32,512]
//     output "loss" = %9
//     update %H = %7
//   }
//
// Attributes print sorted by name and floats print in their shortest exact
// form, so print(parse(text)) == text for any printed graph.
#pragma once

#include <string>
#include <string_view>

#include "graph/Graph.h"

namespace graphc {

std::string printGraph(const Graph& g);

// Parses and verifies. Throws graphc::Error "file:line:col: error: ...".
Graph parseGraph(std::string_view text, const std::string& sourceName = "<input>");

// Reads a file (or stdin for "-") and parses it.
Graph parseGraphFile(const std::string& path);

}  // namespace graphc
