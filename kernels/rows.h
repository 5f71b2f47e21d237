/* kernels/rows.h — the row and reduction arithmetic of the runtime kernels
 * (kernels.c splits the rows over the team). The native build lets the
 * compiler fuse a*b+c into an FMA, the bitcode's does not (CMakeLists.txt),
 * so training and a generation program may differ in a row's last bits. */
#ifndef GRAPHC_KERNELS_ROWS_H
#define GRAPHC_KERNELS_ROWS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest of x[0..n) (-inf for none; a NaN lane may be skipped, as max does). */
float graphc_rows_max(const float* x, int64_t n);
/* x[c] += b[c] for c in [0, n), then graphc_rows_max(x, n), in one pass. */
float graphc_rows_add_max(float* x, const float* b, int64_t n);
/* sum x[0..n) in 256-element blocks of 16 float lanes, the blocks added in double. */
double graphc_rows_sum(const float* x, int64_t n);
/* sum x[i]^2 over [0, n) as graphc_rows_sum adds (the lanes' squares by FMA where contracted). */
double graphc_rows_sum_squares(const float* x, int64_t n);
/* sum x[0..n) in 16 double lanes, added in order at the end. */
double graphc_rows_sum_double(const float* x, int64_t n);
/* sum_c e^(x[c] - shift) for shift >= every x[c], in 16 double lanes. */
double graphc_rows_sum_exp_shifted(const float* x, int64_t n, float shift);
/* x[c] = e^(x[c] - shift) in place, returning graphc_rows_sum_exp_shifted's sum of them to the bit. */
double graphc_rows_exp_shifted_sum(float* x, int64_t n, float shift);

/* log_softmax of rows [r0, r1) of a [rows, width] matrix. */
void graphc_rows_log_softmax(const float* in, float* out, int64_t r0, int64_t r1, int64_t width);
/* Per row r in [r0, r1): logsumexp(logits[r]) - logits[r][labels[r]]. A label
 * outside [0, width) gives NaN; the first such row is returned (else -1). */
int64_t graphc_rows_softmax_cross_entropy(const float* logits, const int32_t* labels, float* out, int64_t r0, int64_t r1,
                                          int64_t width);

/* The first r < n whose labels[r] is outside [0, v), or -1. */
int64_t graphc_rows_label_outside(const int32_t* labels, int64_t n, int64_t v);

/* y[c] = sum over rows of x[r][c] for c in [c0, c1), each in double, in row order. */
void graphc_rows_column_sums(const float* x, float* y, int64_t rows, int64_t cols, int64_t c0, int64_t c1);

/* graphc_rt_reduce's descriptor {kind (0 sum, 1 mean, 2 max), is_int, rank,
 * dims[rank], reduced[rank]}: when it is a float sum over leading axes with the
 * rest kept, sets *rows and *cols and returns 1 (the column-sum fast path). */
int graphc_rows_leading_sum(const int64_t* desc, int64_t* rows, int64_t* cols);
/* Any reduction of the descriptor, in one pass in input order (accumulating
 * in double); returns 0, or -1 when it cannot get its scratch memory. */
int graphc_rows_reduce(const void* in, void* out, const int64_t* desc);

/* The index of the first largest element along the middle axis of [outer, len, inner]. */
void graphc_rows_argmax(const void* in, int32_t* out, int64_t outer, int64_t len, int64_t inner, int32_t is_int);

#ifdef __cplusplus
}
#endif

#endif
