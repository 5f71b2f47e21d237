// codegen/RuntimeKernels.h — the C++ kernels generated code calls for the
// ops that are not fused loops (XLA keeps its runtime_* kernels the same way).
//
// Generated code cannot unwind exceptions, so a kernel that meets bad data
// (an index out of range) records the first error and carries on; the
// executor checks graphc_rt_take_error() after every run.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "codegen/ProductKernels.h"

extern "C" {
// C[m,n] = op(A) op(B); op transposes when the flag is set. `kernels` are the
// generated micro-kernels of the caller's target (Eigen's product when null).
void graphc_rt_matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, int32_t ta, int32_t tb,
                      const graphc::ProductKernels* kernels);
// packed = op(B) in panels of `width` columns (graph/PackedLayout.h); op(B) is k x n.
void graphc_rt_pack_panels(const float* b, float* packed, int64_t k, int64_t n, int32_t tb, int64_t width);
// C[m,n] = op(A) * unpack(packed); the kernels' width is the panels'.
void graphc_rt_packed_matmul(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                             int32_t ta, const graphc::ProductKernels* kernels);
// The same, then epilogue(args, j0, j1) on each thread's columns [j0, j1) of C.
void graphc_rt_packed_matmul_epilogue(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                                      int32_t ta, const graphc::ProductKernels* kernels,
                                      void (*epilogue)(void* const*, int64_t, int64_t), void* const* args);
// kernel(args, j0, j1) over column ranges [j0, j1) covering [0, cols), split over the threads.
void graphc_rt_parallel_columns(void (*kernel)(void* const*, int64_t, int64_t), void* const* args, int64_t cols);
void graphc_rt_fill(uint32_t* out, int64_t n, uint32_t bits);
void graphc_rt_copy(void* out, const void* in, int64_t bytes);
// out[i] = in[base + sum_d idx_d(i) * stride_d]; desc = {rank, base, dims[rank], strides[rank]}.
void graphc_rt_gather_strided(const uint32_t* in, uint32_t* out, const int64_t* desc);
// out[base + sum_d idx_d(i) * stride_d] = in[i] over the input's dims; desc as above.
void graphc_rt_scatter_strided(const uint32_t* in, uint32_t* out, const int64_t* desc);
// desc = {kind (0 sum, 1 mean, 2 max), is_int, rank, dims[rank], reduced[rank]}.
void graphc_rt_reduce(const void* in, void* out, const int64_t* desc);
void graphc_rt_argmax(const void* in, int32_t* out, int64_t outer, int64_t len, int64_t inner, int32_t isInt);
// out[i] = (i / inner) % len: the index along one axis.
void graphc_rt_iota(int32_t* out, int64_t n, int64_t len, int64_t inner);
// Fused attention and its gradient (codegen/portable/attention.h); the scale as f32 bits.
void graphc_rt_attention(const float* q, const float* k, const float* v, float* out, int64_t entries, int64_t t,
                         int64_t d, uint32_t scaleBits, int32_t causal);
void graphc_rt_attention_grad(const float* q, const float* k, const float* v, const float* y, const float* dy,
                              float* grads, int64_t entries, int64_t t, int64_t d, uint32_t scaleBits, int32_t causal);
void graphc_rt_one_hot(const int32_t* idx, float* out, int64_t n, int64_t depth);
// Uniform [0, 1) from the counter-based generator (graph/CounterRandom.h); key i32[3], `cols` per row.
void graphc_rt_random_uniform(const int32_t* key, float* out, int64_t n, int64_t cols, int64_t stream);
// out = in summed over the processes (codegen/Collectives.h); the identity on one.
void graphc_rt_all_reduce(const float* in, float* out, int64_t n);
// An index outside [0, rows) is an error, or with zeroOutOfRange a zero row (gather) / dropped (scatter_add).
void graphc_rt_gather_rows(const float* table, const int32_t* idx, float* out, int64_t n, int64_t width, int64_t rows,
                           int32_t zeroOutOfRange);
void graphc_rt_scatter_add_rows(const float* updates, const int32_t* idx, float* out, int64_t n, int64_t width,
                                int64_t rows, int32_t zeroOutOfRange);
void graphc_rt_log_softmax(const float* in, float* out, int64_t rows, int64_t width);
void graphc_rt_softmax_cross_entropy(const float* logits, const int32_t* labels, float* out, int64_t rows,
                                     int64_t width);
}

namespace graphc {

// Every kernel above, by the name generated code calls it (from RuntimeKernels.def).
std::vector<std::pair<std::string, void*>> runtimeKernelSymbols();

// A runtime kernel's parameters as codegen passes them (RuntimeKernels.def).
enum class RuntimeParam { Ptr, I64, I32 };
// The parameters of the kernel called `name`, or nullptr when there is none.
const std::vector<RuntimeParam>* runtimeKernelParams(const std::string& name);

// The first error a kernel recorded since the last call, or "".
std::string graphc_rt_take_error();

}  // namespace graphc
