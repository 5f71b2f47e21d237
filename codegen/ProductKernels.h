// codegen/ProductKernels.h — the C++ face of the contract between generated
// micro-kernels and the product driver (kernels/product.h). Generated code
// holds one table per panel width, built for its target by
// codegen/ProductEmitter.cpp, and passes its address with every product call.
#pragma once

#include "kernels/product.h"
#include "target/Target.h"

namespace graphc {

inline constexpr int kMaxTileRows = GRAPHC_MAX_TILE_ROWS;
using ProductKernels = graphc_product_kernels;

// `target` with its tile replaced (bench and tests sweep tiles); throws when
// the tile does not fit the generator's limits.
Target withTile(Target target, ProductTile tile);

}  // namespace graphc
