// passes/PassManager.h — runs named passes in order, verifying after each.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "passes/Pass.h"
#include "passes/PassOptions.h"

namespace graphc {

struct PassTiming {
  std::string pass;
  double seconds;
  bool changed;
};

struct PassManagerOptions {
  bool verifyEach = true;
  std::vector<std::string> printBefore;  // pass names, or "all"
  std::vector<std::string> printAfter;
  std::ostream* printStream = nullptr;    // where --print-before/after go (default std::cerr)
  std::function<std::string(const Graph&)> printer;  // how (default: the textual IR; graph/Dot.h for pictures)
  // Called as each pass starts (its name, its 0-based position, the pipeline's length): progress for long compiles.
  std::function<void(const std::string& pass, size_t index, size_t count)> beforePass;
};

class PassManager {
 public:
  explicit PassManager(PassManagerOptions options = {}) : options_(std::move(options)) {}
  void add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }
  void add(std::vector<std::unique_ptr<Pass>> passes) {
    for (auto& p : passes) add(std::move(p));
  }
  // Adds passes from "a,b{key=value},c"; throws naming an unknown pass (and
  // listing the known ones) or an option the pass does not take.
  void addPipeline(const std::string& commaSeparated);
  // Returns whether any pass changed the graph. A failing verify names the pass.
  bool run(Graph& g);
  const std::vector<PassTiming>& timings() const { return timings_; }
  void printTimings(std::ostream& os) const;

 private:
  PassManagerOptions options_;
  std::vector<std::unique_ptr<Pass>> passes_;
  std::vector<PassTiming> timings_;
};

// The registry of passes by name; a spec's options are checked against the
// keys the pass takes.
std::unique_ptr<Pass> createPass(const PassSpec& spec);
std::unique_ptr<Pass> createPass(const std::string& name);
struct PassInfo {
  std::string name, description;
  std::vector<std::string> options;
};
std::vector<PassInfo> listPasses();

}  // namespace graphc
