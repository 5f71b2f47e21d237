/* kernels/product.h — graphc's single-precision matrix product: the driver
 * around the target's generated micro-kernels (codegen/ProductEmitter.h).
 * The right operand is packed into panels of the kernels' width; a register
 * tile streams the left operand straight from memory (only a transposed,
 * tall one is first copied into tile order), so a product over a weight
 * packed once per step costs nothing but its FLOPs. The 35 small 32-row
 * recurrent products of the seed step are exactly that case; a general BLAS
 * repacks the weight every call. No ISA-specific code: the blocking, the
 * threads and the epilogue are the same for every target.
 *
 * The packed layout is the `pack_panels` op's (graph/PackedLayout.h):
 * packed[p][k][j] = op(B)[k][W p + j], zero past n. Each element of C sums
 * its products in k order in blocks of K fixed by k, n and the kernel
 * table alone, so a row's result depends neither on the rows beside it nor
 * on the threads. */
#ifndef GRAPHC_KERNELS_PRODUCT_H
#define GRAPHC_KERNELS_PRODUCT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GRAPHC_MAX_TILE_ROWS 16

/* c[r][0..cols) (+)= sum over kk < kc of a[r * row_stride + kk * k_stride] * panel[kk * panel_stride + j]
 * for r < the variant's rows; accumulate != 0 adds to c, else overwrites it. Each panel row is read
 * whole (width floats): panel_stride = width for packed panels, B's row length for B read in place.
 * cols <= width; columns past cols are neither read nor written. */
typedef void (*graphc_tile_kernel)(const float* a, int64_t row_stride, int64_t k_stride, const float* panel,
                                   int64_t panel_stride, int64_t kc, float* c, int64_t ldc, int64_t cols,
                                   int32_t accumulate);

/* Laid out exactly as the generated global { i64, i64, i64, i64, i64, [17 x ptr], i64, [17 x ptr] }. */
struct graphc_product_kernels {
  int64_t tile_rows;   /* the tallest variant */
  int64_t panel_width; /* columns per panel (the packed layout's last dimension) */
  /* K per block at most, so a panel's slice stays in L1 while the row tiles
   * pass over it; 0: all of K in one pass, the cheaper order for the one or
   * few rows of a generation step. Codegen's choice (codegen/ProductEmitter.h). */
  int64_t max_kc;
  int64_t l2_bytes; /* the target's L2 per core, which the panel groups are cut for */
  /* 1: a row-major A is copied into tile order whenever panels reuse it (the target's integer work
   * shares the FMA ports, so an in-place A's address arithmetic costs FMA slots: Target.h) */
  int64_t pack_row_major_a;
  graphc_tile_kernel tiles[GRAPHC_MAX_TILE_ROWS + 1]; /* tiles[r] computes r rows, 1 <= r <= tile_rows */
  /* One vector's columns (0: none), for a last panel that has no more: a word model's 290-wide
   * product ends in a panel of 2 columns, which a whole-width tile computes 32 of (1120 x 290 x
   * 17,907 ran at 0.91 of 1120 x 288 x 17,907). Read from the same panels, and the same sums per
   * element, so the bits do not depend on which tile made them. */
  int64_t narrow_width;
  graphc_tile_kernel narrow_tiles[GRAPHC_MAX_TILE_ROWS + 1]; /* narrow_tiles[r]: r rows, as tiles[r] */
};

/* Elementwise work on columns [j0, j1) of C (and of tensors of C's shape),
 * run by the thread that computed those columns as soon as it has. */
typedef void (*graphc_column_kernel)(void* const* args, int64_t j0, int64_t j1);

/* out[kk * width + j] = src[j * lds + kk] for j < rows, kk < kc, and zero for rows <= j < width: rows
 * of src (lds floats apart) turned into columns of out's rows (width floats each). */
void graphc_transpose_rows(const float* src, int64_t lds, int64_t rows, int64_t kc, float* out, int64_t width);
/* Panels [p0, p1) of op(B) (k x n; B is n x k when transposed), `width` columns each. */
void graphc_pack_panels(const float* b, int32_t tb, int64_t k, int64_t n, int64_t width, float* packed, int64_t p0,
                        int64_t p1);
/* C (m x n) = op(A) * packed (k x n in panels of the table's width) over the
 * team; accumulate != 0 adds to C. For kernels that chain products. */
void graphc_product_packed(const float* a, int32_t ta, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                           int32_t accumulate, const struct graphc_product_kernels* kernels);
/* C (m x n, rows ldc floats apart) (+)= op(A) * op(B) over the team, A and B unpacked with rows lda
 * and ldb floats apart: windows of wider matrices (a chunk of an output layer's weights, of its
 * gradient, of its logits) used where they are. B is read in place when it is not transposed and n
 * is whole panels, else packed panel group by panel group inside the product. */
void graphc_product_strided(const float* a, int64_t lda, int32_t ta, const float* b, int64_t ldb, int32_t tb, float* c,
                            int64_t ldc, int64_t m, int64_t n, int64_t k, int32_t accumulate,
                            const struct graphc_product_kernels* kernels);

/* graphc_product_strided, then epilogue(args, j0, j1) on C's columns [j0, j1) (every row) by the
 * thread that made them as soon as they are final, a panel group at a time while it is in cache
 * (on all of C at the end when the team splits the product by rows). */
void graphc_product_strided_epilogue(const float* a, int64_t lda, int32_t ta, const float* b, int64_t ldb, int32_t tb,
                                     float* c, int64_t ldc, int64_t m, int64_t n, int64_t k, int32_t accumulate,
                                     const struct graphc_product_kernels* kernels, graphc_column_kernel epilogue,
                                     void* const* args);

#ifdef __cplusplus
}
#endif

#endif
