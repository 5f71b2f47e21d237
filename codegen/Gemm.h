// codegen/Gemm.h — graphc's own single-precision matrix product for x86 with
// AVX2 + FMA: the right operand is packed into panels of 16 columns, and a
// 6x16 register-tile micro-kernel streams the left operand straight from
// memory (only a transposed, tall one is first copied into tile order), so a
// product over a weight packed once per step costs nothing but its FLOPs. The 35 small 32-row recurrent products of the seed
// step are exactly that case; a general BLAS repacks the weight every call.
//
// The packed layout is the `pack_panels` op's, described in graph/PackedLayout.h.
#pragma once

#include "graph/PackedLayout.h"

#include <cstdint>

namespace graphc::gemm {

inline int64_t packedElements(int64_t k, int64_t n) { return panelCount(n) * k * kPanelWidth; }

// True when this CPU runs the micro-kernel (AVX2 and FMA) and it is not disabled.
bool available();

// Tests turn the micro-kernel off to check the portable path a CPU without
// AVX2/FMA takes.
void setMicroKernelEnabled(bool enabled);

// Packs panels [p0, p1) of op(B) (k x n; B is n x k when transposed).
void packPanels(const float* b, bool transposeB, int64_t k, int64_t n, float* packed, int64_t p0, int64_t p1);

// All panels, split over the kernel threads.
void packPanelsParallel(const float* b, bool transposeB, int64_t k, int64_t n, float* packed);

// C[rows r0..r1, panel columns p0..p1] = op(A) * packedB, where op(A) is m x k
// (A is k x m when transposed). C is row-major with n columns. Single-threaded.
void multiplyPacked(const float* a, bool transposeA, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                    int64_t r0, int64_t r1, int64_t p0, int64_t p1);

// C = op(A) op(B), split over the kernel threads; packs B itself.
void multiply(const float* a, bool transposeA, const float* b, bool transposeB, float* c, int64_t m, int64_t n,
              int64_t k);

// Elementwise work on columns [colBegin, colEnd) of C (and of other tensors of
// C's shape), run by the thread that computed those columns as soon as it has.
struct Epilogue {
  void (*fn)(void* const* args, int64_t colBegin, int64_t colEnd);
  void* const* args;
};

// C = op(A) * packedB, split over the kernel threads, then the epilogue if any.
void multiplyPackedParallel(const float* a, bool transposeA, const float* packed, float* c, int64_t m, int64_t n,
                            int64_t k, const Epilogue* epilogue = nullptr);

}  // namespace graphc::gemm
