// codegen/Gemm.h — graphc's single-precision matrix product: the driver
// around the target's generated micro-kernels (codegen/ProductEmitter.h).
// The right operand is packed into panels of the kernels' width; a register
// tile streams the left operand straight from memory (only a transposed,
// tall one is first copied into tile order), so a product over a weight
// packed once per step costs nothing but its FLOPs. The 35 small 32-row
// recurrent products of the seed step are exactly that case; a general BLAS
// repacks the weight every call. This file holds no ISA-specific code: the
// blocking, the threads and the epilogue are the same for every target.
//
// The packed layout is the `pack_panels` op's, described in graph/PackedLayout.h.
#pragma once

#include <cstdint>

#include "codegen/ProductKernels.h"

namespace graphc::gemm {

// Packs panels [p0, p1) of op(B) (k x n; B is n x k when transposed), `width` columns each.
void packPanels(const float* b, bool transposeB, int64_t k, int64_t n, int64_t width, float* packed, int64_t p0,
                int64_t p1);

// All panels, split over the kernel threads.
void packPanelsParallel(const float* b, bool transposeB, int64_t k, int64_t n, int64_t width, float* packed);

// Elementwise work on columns [colBegin, colEnd) of C (and of other tensors of
// C's shape), run by the thread that computed those columns as soon as it has.
struct Epilogue {
  void (*fn)(void* const* args, int64_t colBegin, int64_t colEnd);
  void* const* args;
};

// C[rows r0..r1, panel columns p0..p1] = op(A) * packedB, where op(A) is m x k
// (A is k x m when transposed). C is row-major with n columns. Single-threaded.
// With an epilogue, it runs on each panel's columns once they are final (while
// they are in L1) when the rows are few enough, else on the whole range at the end.
void multiplyPacked(const ProductKernels& kernels, const float* a, bool transposeA, const float* packed, float* c,
                    int64_t m, int64_t n, int64_t k, int64_t r0, int64_t r1, int64_t p0, int64_t p1,
                    const Epilogue* epilogue = nullptr);

// C = op(A) op(B), split over the kernel threads; packs B itself.
void multiply(const ProductKernels& kernels, const float* a, bool transposeA, const float* b, bool transposeB,
              float* c, int64_t m, int64_t n, int64_t k);

// C = op(A) * packedB, split over the kernel threads, then the epilogue if any.
void multiplyPackedParallel(const ProductKernels& kernels, const float* a, bool transposeA, const float* packed,
                            float* c, int64_t m, int64_t n, int64_t k, const Epilogue* epilogue = nullptr);

}  // namespace graphc::gemm
