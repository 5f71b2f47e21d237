// codegen/ModuleBuilder.h — a fused, memory-planned graph becomes one LLVM
// module: a function per distinct fused kernel and one entry,
// `void graphc_entry(ptr arena)`, that runs the whole graph in order.
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <memory>
#include <vector>

#include "target/Target.h"
#include "graph/Graph.h"

namespace graphc {

constexpr const char* kEntryName = "graphc_entry";

struct ModuleStats {
  int fusedKernels = 0;    // fused nodes in the graph
  int uniqueKernels = 0;   // distinct kernel functions emitted
  int runtimeCalls = 0;    // calls to runtime kernels (matmul, gather, ...)
  int epilogues = 0;       // fused kernels run as a product's epilogue
  int tileKernels = 0;     // generated product micro-kernels (one per tile height and panel width)
  int entryCalls = 0;      // calls the entry makes, counted flat
  int rolledCalls = 0;     // of those, the ones inside re-rolled loops
  struct Loop {
    int64_t repetitions, bodyCalls;
  };
  std::vector<Loop> loops;  // the re-rolled runs, in order
};

struct CodegenOptions {
  // Runs of repeated per-step calls become loops in the entry function
  // (codegen/CallSequence.h); false keeps one call per node (--no-reroll).
  bool reroll = true;
  // Products sum K in blocks that stay in L1 (codegen/ProductEmitter.h);
  // false for generation programs, whose steps have a row or a few.
  bool blockK = true;
};

// Requires the "fuse" and "plan" passes to have run (every value has an
// "offset"; no bare elementwise op is left). Throws graphc::Error otherwise.
// Products use micro-kernels generated for `target` (codegen/ProductEmitter.h).
std::unique_ptr<llvm::Module> buildModule(llvm::LLVMContext& ctx, const Graph& g, const Target& target,
                                          const CodegenOptions& options = {}, ModuleStats* stats = nullptr);

}  // namespace graphc
