// codegen/KernelEmitter.h — a fused body becomes one LLVM function: a loop
// nest over the output's [rows, cols] grid with noalias pointer arguments.
#pragma once

#include <llvm/IR/Module.h>
#include <string>
#include <vector>

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

// A member of a product's epilogue chain (target/Fusability.h): its fused
// body, and per operand the index of the earlier member whose result it is
// (-1: any other value, read from memory).
struct ChainMember {
  const Graph* body;
  std::vector<int> earlier;
};

// Emits `void name(ptr args, i64 colBegin, i64 colEnd)` running a product's
// epilogue chain on columns [colBegin, colEnd) of each of its blocks, `width`
// columns wide, over all `rows`: one loop nest whose body computes every
// member at the element in order, hands each member's value on in a register
// to the members that read it, and stores it (a concatenated member stores
// each piece at its block). args holds each member's pointers in turn: its
// output, then its operands. An LSTM's gates and cell are one pass over a
// hidden unit's panel of the four gates.
llvm::Function* emitChainKernel(llvm::Module& m, const std::vector<ChainMember>& members, int64_t rows,
                                int64_t width, const std::string& name, int64_t panelWidth);

}  // namespace graphc
