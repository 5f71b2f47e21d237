// passes/Pass.h — the pass interface.
#pragma once

#include <string>

#include "graph/Graph.h"

namespace graphc {

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  // Its options as a pipeline string spells them ("panel-width=32"), or "".
  virtual std::string options() const { return ""; }
  // Returns whether the graph changed.
  virtual bool run(Graph& g) = 0;
};

}  // namespace graphc
