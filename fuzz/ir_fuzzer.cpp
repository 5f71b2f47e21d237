// fuzz/ir_fuzzer.cpp — libFuzzer harness: text IR through the parser, the
// verifier and the optimizing and lowering passes. A graphc::Error is the
// expected answer to bad input; anything else (a crash, a sanitizer report,
// another exception, printed IR that does not parse back) is a finding.
// Built and run by scripts/fuzz.sh.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "graph/Error.h"
#include "graph/TextIR.h"
#include "passes/PassManager.h"
#include "driver/Pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace graphc;
  std::string text(reinterpret_cast<const char*>(data), size);
  Graph g;
  try {
    g = parseGraph(text, "fuzz.gir");
  } catch (const Error&) {
    return 0;
  }
  // What parses prints and parses back unchanged.
  std::string printed = printGraph(g);
  try {
    if (printGraph(parseGraph(printed, "printed.gir")) != printed) std::abort();
  } catch (const Error& e) {
    std::fprintf(stderr, "printed IR does not parse back: %s\n", e.what());
    std::abort();
  }
  // Small graphs only through the passes: the fuzzer looks for crashes, not slow inputs.
  if (g.size() > 400) return 0;
  try {
    PassManager pm;
    pm.add(fuzzPasses());
    pm.run(g);
  } catch (const Error&) {
  }
  return 0;
}
