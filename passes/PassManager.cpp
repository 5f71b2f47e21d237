// passes/PassManager.cpp — pipeline construction, verification, printing, timing.
#include "passes/PassManager.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <iostream>

#include "graph/TextIR.h"
#include "graph/Verifier.h"
#include "target/KernelRules.h"

namespace graphc {
namespace {

bool listed(const std::vector<std::string>& names, const std::string& pass) {
  return std::find(names.begin(), names.end(), pass) != names.end() ||
         std::find(names.begin(), names.end(), "all") != names.end();
}

}  // namespace

void PassManager::addPipeline(const std::string& commaSeparated) {
  for (const PassSpec& spec : parsePipeline(commaSeparated)) add(createPass(spec));
}

bool PassManager::run(Graph& g) {
  std::ostream& os = options_.printStream ? *options_.printStream : std::cerr;
  auto print = [&](const Graph& graph) { return options_.printer ? options_.printer(graph) : printGraph(graph); };
  bool any = false;
  for (size_t i = 0; i < passes_.size(); ++i) {
    Pass* pass = passes_[i].get();
    if (options_.beforePass) options_.beforePass(pass->name(), i, passes_.size());
    if (listed(options_.printBefore, pass->name()))
      os << fmt::format("// -----// IR before {} //----- //\n", pass->name()) << print(g);
    auto start = std::chrono::steady_clock::now();
    bool changed = pass->run(g);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    timings_.push_back({pass->name(), seconds, changed});
    any |= changed;
    if (options_.verifyEach) {
      try {
        verify(g);
        verifyKernelRules(g);
      } catch (const Error& e) {
        throw Error(fmt::format("after pass '{}': {}", pass->name(), e.what()));
      }
    }
    if (listed(options_.printAfter, pass->name()))
      os << fmt::format("// -----// IR after {} //----- //\n", pass->name()) << print(g);
  }
  return any;
}

void PassManager::printTimings(std::ostream& os) const {
  double total = 0;
  for (const auto& t : timings_) total += t.seconds;
  os << "===-------------------------------------===\n";
  os << "  pass timing report\n";
  os << "===-------------------------------------===\n";
  for (const auto& t : timings_)
    os << fmt::format("  {:10.6f} s  {:5.1f}%  {}{}\n", t.seconds, total > 0 ? 100.0 * t.seconds / total : 0.0, t.pass,
                      t.changed ? "" : "  (no change)");
  os << fmt::format("  {:10.6f} s  100.0%  total\n", total);
}

}  // namespace graphc
