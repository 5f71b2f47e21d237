// codegen/KernelEmitter.h — a fused body becomes one LLVM function: a loop
// nest over the output's [rows, cols] grid with noalias pointer arguments.
#pragma once

#include <llvm/IR/Module.h>
#include <string>

#include "graph/Graph.h"

namespace graphc {

// Emits `void name(ptr noalias out, ptr noalias arg0, ...)` computing the
// body's "result" elementwise. Throws for ops a fused body may not hold.
llvm::Function* emitFusedKernel(llvm::Module& m, const Graph& body, const std::string& name);

}  // namespace graphc
