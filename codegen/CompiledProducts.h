// codegen/CompiledProducts.h — the target's product micro-kernels compiled on
// their own, for the tests and bench/gemm_bench (a compiled graph carries its
// own copy). No LLVM headers, so a benchmark builds against libgraphc alone.
#pragma once

#include "codegen/ProductKernels.h"
#include "target/Target.h"

namespace graphc {

// Compiled once per target and tile (codegen/Jit.cpp); the target must run on
// this CPU. Throws graphc::Error.
const ProductKernels& compiledProductKernels(const Target& target);

}  // namespace graphc
