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

// Emits `void name(ptr args, i64 colBegin, i64 colEnd)`: the same body over
// columns [colBegin, colEnd) of every row of its 2-d output, with args[0] the
// output and args[1..] the inputs. A matrix product runs it as its epilogue on
// the columns each thread computed (kernels/product.h). A range exactly
// `panelWidth` columns wide (a product's panel, the common case) runs a copy
// of the loops whose trip count is that constant.
llvm::Function* emitColumnRangeKernel(llvm::Module& m, const Graph& body, const std::string& name,
                                      int64_t panelWidth);

}  // namespace graphc
