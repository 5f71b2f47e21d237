/* kernels/runtime_kernels.h — the kernels generated code calls for the ops
 * that are not fused loops (XLA keeps its runtime_* kernels the same way),
 * one C library (the .c files of kernels/): compiled natively into libgraphc for the JIT's
 * symbol table, and to bitcode that generation programs and exported
 * libraries link in. kernels/RuntimeKernels.def lists them with their
 * parameter kinds; codegen checks these declarations against it (natively at
 * compile time, the bitcode when it is linked: codegen/RuntimeKernels.h).
 *
 * Generated code cannot unwind, so a kernel that meets bad data (an index out
 * of range) records the first error and carries on; the caller takes it
 * after the run (graphc_kernel_take_error). */
#ifndef GRAPHC_KERNELS_RUNTIME_KERNELS_H
#define GRAPHC_KERNELS_RUNTIME_KERNELS_H

#include <stdint.h>

#include "product.h"

#ifdef __cplusplus
extern "C" {
#endif

/* C[m,n] = op(A) op(B) with the caller's micro-kernels; op transposes when the flag is set. */
void graphc_rt_matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, int32_t ta, int32_t tb,
                      const struct graphc_product_kernels* kernels);
/* packed = op(B) in panels of `width` columns (graph/packed_layout.h); op(B) is k x n. */
void graphc_rt_pack_panels(const float* b, float* packed, int64_t k, int64_t n, int32_t tb, int64_t width);
/* C[m,n] = op(A) * unpack(packed); the kernels' width is the panels'. */
void graphc_rt_packed_matmul(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                             int32_t ta, const struct graphc_product_kernels* kernels);
/* The same, then epilogue(args, j0, j1) on each thread's columns [j0, j1) as soon as they are final.
 * With blocks > 1, C's n columns are that many blocks of whole panels and j0, j1 count the columns of
 * one block: the epilogue runs once [j0, j1) is final in every block (a gated cell over its gates). */
void graphc_rt_packed_matmul_epilogue(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                                      int32_t ta, const struct graphc_product_kernels* kernels, int64_t blocks,
                                      graphc_column_kernel epilogue, void* const* args);
/* kernel(args, j0, j1) over column ranges [j0, j1) covering [0, cols), split over the threads. */
void graphc_rt_parallel_columns(graphc_column_kernel kernel, void* const* args, int64_t cols);
void graphc_rt_fill(uint32_t* out, int64_t n, uint32_t bits);
void graphc_rt_copy(void* out, const void* in, int64_t bytes);
/* out[i] = in[base + sum_d idx_d(i) * stride_d]; desc = {rank, base, dims[rank], strides[rank]}. */
void graphc_rt_gather_strided(const uint32_t* in, uint32_t* out, const int64_t* desc);
/* out[base + sum_d idx_d(i) * stride_d] = in[i] over the input's dims; desc as above. */
void graphc_rt_scatter_strided(const uint32_t* in, uint32_t* out, const int64_t* desc);
/* desc = {kind (0 sum, 1 mean, 2 max), is_int, rank, dims[rank], reduced[rank]} (rows.h). */
void graphc_rt_reduce(const void* in, void* out, const int64_t* desc);
void graphc_rt_argmax(const void* in, int32_t* out, int64_t outer, int64_t len, int64_t inner, int32_t is_int);
/* *out = the sum of in's n squares, added as reduce_sum adds (graphc_rows_sum_squares; graph/Op.def). */
void graphc_rt_sum_squares(const float* in, float* out, int64_t n);
/* out[i] = (i / inner) % len: the index along one axis. */
void graphc_rt_iota(int32_t* out, int64_t n, int64_t len, int64_t inner);
/* Fused attention and its gradient (attention.h); the scale as f32 bits. */
void graphc_rt_attention(const float* q, const float* k, const float* v, float* out, int64_t entries, int64_t t,
                         int64_t d, uint32_t scale_bits, int32_t causal);
void graphc_rt_attention_grad(const float* q, const float* k, const float* v, const float* y, const float* dy,
                              float* grads, int64_t entries, int64_t t, int64_t d, uint32_t scale_bits, int32_t causal);
/* kernels/linear_cross_entropy.c: the output layer's loss and its gradient
 * without the rows x V logits (graph/Op.def: linear_cross_entropy). */
void graphc_rt_linear_cross_entropy(const float* x, const float* w, const float* b, const int32_t* labels, float* loss,
                                    int64_t n, int64_t k, int64_t v, int32_t tw,
                                    const struct graphc_product_kernels* kernels);
void graphc_rt_linear_cross_entropy_grad(const float* x, const float* w, const float* b, const int32_t* labels,
                                         const float* loss, const float* dloss, float* out, int64_t n, int64_t k,
                                         int64_t v, int32_t tw, const struct graphc_product_kernels* kernels);
/* kernels/linear_cross_entropy_train.c: both at once, given the gradient
 * with respect to the loss before it (out: loss [N], dx, dw, db). */
void graphc_rt_linear_cross_entropy_train(const float* x, const float* w, const float* b, const int32_t* labels,
                                          const float* dloss, float* out, int64_t n, int64_t k, int64_t v, int32_t tw,
                                          const struct graphc_product_kernels* kernels);
void graphc_rt_one_hot(const int32_t* idx, float* out, int64_t n, int64_t depth);
/* Uniform [0, 1) from the counter-based generator (graph/counter_random.h); key i32[3], `cols` per row. */
void graphc_rt_random_uniform(const int32_t* key, float* out, int64_t n, int64_t cols, int64_t stream);
/* out = in summed over the processes (graphc_set_all_reduce); the identity on one. */
void graphc_rt_all_reduce(const float* in, float* out, int64_t n);
/* An index outside [0, rows) is an error, or with zero_out_of_range a zero row (gather) / dropped (scatter_add). */
void graphc_rt_gather_rows(const float* table, const int32_t* idx, float* out, int64_t n, int64_t width, int64_t rows,
                           int32_t zero_out_of_range);
void graphc_rt_scatter_add_rows(const float* updates, const int32_t* idx, float* out, int64_t n, int64_t width,
                                int64_t rows, int32_t zero_out_of_range);
void graphc_rt_log_softmax(const float* in, float* out, int64_t rows, int64_t width);
void graphc_rt_softmax_cross_entropy(const float* logits, const int32_t* labels, float* out, int64_t rows,
                                     int64_t width);

/* The sum over processes graphc_rt_all_reduce applies in place (the runtime
 * installs MPI's); NULL, the default, is one process. */
typedef void (*graphc_all_reduce_fn)(float* data, int64_t n);
void graphc_set_all_reduce(graphc_all_reduce_fn fn);
graphc_all_reduce_fn graphc_all_reduce(void);

/* Records a kernel's error (printf format) unless one is already recorded. */
void graphc_kernel_error(const char* format, ...) __attribute__((format(printf, 1, 2)));
/* Copies the first error recorded since the last call into out (size bytes)
 * and clears it; returns 0 when there is none. */
int graphc_kernel_take_error(char* out, int64_t size);

#ifdef __cplusplus
}
#endif

#endif
