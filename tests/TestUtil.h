// tests/TestUtil.h — helpers shared by the test files: a small FileCheck-style
// matcher for printed IR, and graph running shortcuts.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "graph/TextIR.h"
#include "models/Model.h"
#include "passes/PassManager.h"
#include "runtime/Interpreter.h"

namespace graphc::test {

// Writes `text` to a file of the tests' scratch directory; returns its path.
inline std::string scratchFile(const std::string& name, const std::string& text) {
  std::string path = std::string(GRAPHC_SCRATCH_DIR) + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Matches `text` against directives, one per line:
//   CHECK: s       the next line at or after the cursor containing s
//   CHECK-NEXT: s  the line right after the previous match contains s
//   CHECK-NOT: s   no line between the previous match and the next match contains s;
//                  it must stand between two CHECK/CHECK-NEXT lines, so its range
//                  is never empty or unbounded (use CHECK-COUNT-0 for "nowhere")
//   CHECK-COUNT-n: s  exactly n lines of the whole text contain s
// Returns an empty string on success, else what failed.
inline std::string fileCheck(const std::string& text, const std::string& directives) {
  std::vector<std::string> lines;
  {
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  size_t cursor = 0;  // first line not yet consumed
  bool matched = false;  // a CHECK or CHECK-NEXT has matched
  std::vector<std::string> pendingNot;
  std::istringstream in(directives);
  for (std::string d; std::getline(in, d);) {
    size_t start = d.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    d = d.substr(start);
    auto body = [&](size_t prefix) { return d.substr(d.find_first_not_of(' ', prefix)); };
    auto countPrefix = std::string("CHECK-COUNT-");
    if (d.rfind(countPrefix, 0) == 0) {
      size_t colon = d.find(':');
      int expected = std::stoi(d.substr(countPrefix.size(), colon - countPrefix.size()));
      std::string s = body(colon + 1);
      int n = 0;
      for (const auto& l : lines) n += l.find(s) != std::string::npos;
      if (n != expected) return d + "  (found " + std::to_string(n) + ")";
    } else if (d.rfind("CHECK-NOT:", 0) == 0) {
      if (!matched) return d + "  (a CHECK-NOT before any CHECK has no range)";
      pendingNot.push_back(body(10));
    } else if (d.rfind("CHECK-NEXT:", 0) == 0) {
      std::string s = body(11);
      if (cursor >= lines.size() || lines[cursor].find(s) == std::string::npos)
        return d + "  (next line: " + (cursor < lines.size() ? lines[cursor] : "<end>") + ")";
      if (!pendingNot.empty()) return d + "  (a CHECK-NOT right before a CHECK-NEXT has no range)";
      ++cursor;
      matched = true;
    } else if (d.rfind("CHECK:", 0) == 0) {
      std::string s = body(6);
      size_t i = cursor;
      while (i < lines.size() && lines[i].find(s) == std::string::npos) ++i;
      if (i == lines.size()) return d + "  (not found)";
      for (const auto& no : pendingNot)
        for (size_t j = cursor; j < i; ++j)
          if (lines[j].find(no) != std::string::npos) return "CHECK-NOT: " + no + "  (found: " + lines[j] + ")";
      pendingNot.clear();
      cursor = i + 1;
      matched = true;
    } else {
      return "bad directive: " + d;
    }
  }
  if (!pendingNot.empty()) return "CHECK-NOT: " + pendingNot.front() + "  (after the last CHECK: anchor it below)";
  return "";
}

#define CHECK_IR(text, directives)                           \
  do {                                                       \
    std::string graphc_fc_ = ::graphc::test::fileCheck(text, directives); \
    INFO(text);                                              \
    CHECK_MESSAGE(graphc_fc_.empty(), graphc_fc_);           \
  } while (0)

// Parses `text`, runs the pipeline (verifying after each pass), checks that
// the result prints and parses back unchanged, and returns the printed IR.
inline std::string runPipeline(const std::string& text, const std::string& pipeline) {
  Graph g = parseGraph(text, "in.gir");
  PassManager pm;
  pm.addPipeline(pipeline);
  pm.run(g);
  std::string out = printGraph(g);
  CHECK(printGraph(parseGraph(out)) == out);
  return out;
}

// The error message parseGraph throws for `text`, or "" if it parses.
inline std::string parseError(const std::string& text) {
  try {
    parseGraph(text, "t.gir");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A 2-layer word LSTM (lstm-lm) with dropout 0.3, small enough for the interpreter.
inline ModelConfig smallWordLstmWithDropout() {
  ModelConfig c;
  c.batchSize = 2;
  c.numSteps = 3;
  c.hidden = 6;
  c.vocab = 9;
  c.numLayers = 2;
  c.settings = {{"dropout", 0.3}};
  return withModelDefaults(findModel("lstm-lm"), c);
}

}  // namespace graphc::test
