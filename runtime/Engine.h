// runtime/Engine.h — something that runs a graph: the reference interpreter
// or the JIT (runtime/JitEngine.h). Both take and return tensors by name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/Graph.h"
#include "graph/eval/Tensor.h"

namespace graphc {

class Engine {
 public:
  virtual ~Engine() = default;
  // Binds inputs, params and state from `vars`, runs, writes the graph's
  // updates back into `vars`, and returns the named outputs.
  virtual TensorMap run(TensorMap& vars) = 0;

  // Declares leaves whose values the caller will not change between runs
  // (e.g. params during generation), so an engine that copies its inputs may
  // copy them once. Call again after changing them. An engine may also keep
  // the run's updates of resident leaves to itself (training's params, which
  // are then never copied out per step): readResident brings them back. With
  // `take`, such an engine also takes them out of `vars` as it copies them in
  // (the caller's copies would only cost memory: a word LSTM's params and Adam
  // moments are 160 MB); an engine that does not keep them leaves them there.
  virtual void setResident(const std::vector<std::string>& names, bool take = false) {
    (void)names;
    (void)take;
  }

  // Writes the current values of the resident leaves into `vars` (only
  // those in `only`, when given).
  virtual void readResident(TensorMap& vars, const std::vector<std::string>* only = nullptr) const {
    (void)vars;
    (void)only;
  }

  // Gives back the memory of everything but these resident leaves (they
  // stay readable); the engine must not run again. A trainer at its end
  // reads its params out without the rest of its arena beside them.
  virtual void discardExcept(const std::vector<std::string>& names) { (void)names; }
};

struct EngineOptions {
  std::string cacheDir;     // JIT object cache ("" = the default under the user's cache directory)
  bool useCache = true;
  std::string targetCpu = "host";  // what the JIT generates code for (must run on this CPU)
  bool reroll = true;              // per-step calls as loops (codegen/CallSequence.h)
};

// kind: "jit" (compiled, the default) or "interp" (the reference
// interpreter). The graph must outlive the engine.
std::unique_ptr<Engine> createEngine(const std::string& kind, const Graph& g, const EngineOptions& options = {});

}  // namespace graphc
