// codegen/ProductKernels.h — the C++ face of the contract between generated
// micro-kernels and the product driver (kernels/product.h). Generated code
// holds one table per panel width, built for its target by
// codegen/ProductEmitter.cpp, and passes its address with every product call.
#pragma once

#include "kernels/product.h"

namespace graphc {

inline constexpr int kMaxTileRows = GRAPHC_MAX_TILE_ROWS;
using ProductKernels = graphc_product_kernels;

}  // namespace graphc
