// passes/Simplify.cpp — fold, CSE and DCE to a fixed point (at most 10
// rounds: each round that changes anything removes or merges nodes, and no
// graph the pipelines build needs more than three).
#include "passes/Passes.h"

namespace graphc {

bool simplify(Graph& g) {
  bool any = false;
  for (int round = 0; round < 10; ++round) {
    bool changed = foldConstants(g);
    changed |= eliminateCommonSubexpressions(g);
    changed |= eliminateDeadCode(g);
    any |= changed;
    if (!changed) break;
  }
  return any;
}

}  // namespace graphc
