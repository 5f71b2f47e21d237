// codegen/ProductEmitter.h — the matrix-product micro-kernels as LLVM IR,
// shaped by the target: a tile of R rows x W columns of C held in R vectors
// of W floats (LLVM splits <32 x float> into two zmm, four ymm or eight xmm
// registers), one panel row loaded and one element of A broadcast per row
// per k, fused multiply-adds, and a store that masks the columns past n.
// Every variant 1..R is emitted, so the driver can spread 32 rows as 11+11+10
// instead of leaving a thin remainder tile.
#pragma once

#include <llvm/IR/Module.h>

#include "target/Target.h"

namespace graphc {

// The global `{ i64 rows, i64 width, i64 max_kc, i64 l2_bytes, i64 pack_row_major_a, [17 x ptr] tiles,
// i64 narrow_width, [17 x ptr] narrow_tiles }` (kernels/product.h)
// holding the micro-kernels for panels of `panelWidth` columns, emitted once
// per module and width. The target's own width uses its tile; another width
// (a graph packed for another target) gets as many rows as its accumulators
// leave registers for; tiles of one vector's width, as many rows, go with them
// for a last panel no wider (kernels/product.h). With `blockK` the driver sums
// K in blocks of panel that stay in L1 while the row tiles pass over them (training); without, in
// one pass (generation: a few rows, nothing to reuse, 4% faster on a 2 x 512
// LSTM's step). The target's L2 size goes with them for the driver's blocking, and whether its
// integer work shares the FMA ports (Target::integerSharesFmaPorts) for the driver's copies of A.
llvm::GlobalVariable* productKernelTable(llvm::Module& m, const Target& target, int64_t panelWidth, bool blockK);

// The name of the micro-kernel for `rows` x `width` (for tests and --emit).
std::string tileKernelName(int rows, int64_t width);

}  // namespace graphc
