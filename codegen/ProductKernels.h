// codegen/ProductKernels.h — the contract between generated micro-kernels and
// the runtime's product driver (codegen/Gemm.h). Generated code holds one
// table per panel width, built for its target by codegen/ProductEmitter.cpp,
// and passes its address with every product call; the driver (blocking,
// threads, packing, the epilogue) is the same C++ for every target.
#pragma once

#include <cstdint>

#include "graph/PackedLayout.h"

namespace graphc {

inline constexpr int kMaxTileRows = 16;

// c[r][0..cols) (+)= sum over kk < kc of a[r * rowStride + kk * kStride] * panel[kk * width + j]
// for r < rows of the variant; accumulate != 0 adds to c, else overwrites it.
// cols <= width; columns past cols are neither read nor written.
using TileKernel = void (*)(const float* a, int64_t rowStride, int64_t kStride, const float* panel, int64_t kc,
                            float* c, int64_t ldc, int64_t cols, int32_t accumulate);

// Laid out exactly as the generated global { i64, i64, [17 x ptr] }.
struct ProductKernels {
  int64_t tileRows;    // the tallest variant
  int64_t panelWidth;  // columns per panel (the packed layout's last dimension)
  TileKernel tiles[kMaxTileRows + 1];  // tiles[r] computes r rows, 1 <= r <= tileRows
};

}  // namespace graphc
