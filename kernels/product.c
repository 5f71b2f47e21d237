/* kernels/product.c — see product.h. The micro-kernels come from generated
 * code; this file decides which rows, panels and K ranges each call covers,
 * and on which thread. */
#include "product.h"

#include <stdlib.h>
#include <string.h>

#include "graph/packed_layout.h"
#include "runtime_kernels.h"
#include "team.h"

/* Rows of A per block: a packed block of A stays in L2 while the block passes over a panel group.
 * 48 rather than 96: a word model's output-layer products 1.02-1.08x on Sapphire Rapids, measured
 * with groups of 512 KiB (36 and 60 alike). */
#define ROW_BLOCK_TARGET 48
/* Panel groups hold at least this many bytes (see blocking_for). */
#define MIN_GROUP_BYTES ((int64_t)256 << 10)
/* A product of fewer rows than this (a generation step's) splits its panels in fixed parts per thread. */
#define FEW_ROWS 16
/* A product of at most this many rows runs its epilogue unit by unit and splits by guided panel ranges. */
#define SHORT_PRODUCT_ROWS 96
/* Elements of C an epilogue call covers at the least, when rows are few (multiply_panels). */
#define EPILOGUE_MIN_ELEMENTS 1024
/* A row-major B is read in place for fewer rows than this, at most this many floats apart (product_range). */
#define IN_PLACE_B_ROWS 64
#define IN_PLACE_B_LDB 512

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

struct blocking {
  int64_t tile_rows, width, row_block, k_blocks, group_bytes;
};

/* K in equal blocks of at most the table's max_kc (a panel's slice in L1), but for a product
 * WIDE_COLUMNS wide or wider (a word model's logits and weight gradient, an LSTM's gates) in as few
 * as a panel group's bytes allow (2,048 rows of a 32-wide panel in 256 KiB): every K block is one
 * more pass over all of C, which no cache holds, and a slice read from L2 costs less than C read and
 * written again from memory. Blocks of 512 were 1.08-1.11x over the table's 256 on those shapes,
 * and all of K (1,024-1,120) over 512 another 1.02-1.04x on one thread and 1.05-1.06x on two (Zen 5;
 * narrow products lost, so they keep the table's: docs/codegen.md). Fixed by k, n and the table,
 * never by m or the threads, so a row's bits do not depend on the rows beside it. */
#define WIDE_COLUMNS 2048
static struct blocking blocking_for(const struct graphc_product_kernels* kernels, int64_t k, int64_t n) {
  struct blocking b;
  b.tile_rows = kernels->tile_rows;
  b.width = kernels->panel_width;
  /* a quarter of L2, half of Zen 3's at the least (measured best there); Sapphire Rapids' 2 MiB L2:
   * 512 KiB, 1.03-1.06x on a word model's output-layer products */
  b.group_bytes = max64(MIN_GROUP_BYTES, kernels->l2_bytes / 4);
  b.row_block = (ROW_BLOCK_TARGET + b.tile_rows - 1) / b.tile_rows * b.tile_rows;
  int64_t max_kc = kernels->max_kc;
  if (max_kc > 0 && n >= WIDE_COLUMNS)
    max_kc = max64(max_kc, b.group_bytes / (b.width * (int64_t)sizeof(float)));
  b.k_blocks = max_kc > 0 ? max64(1, (k + max_kc - 1) / max_kc) : 1;
  return b;
}

/* Rows a multiple of 4 KiB apart map to one L1 set (an LSTM's gate gradient, [32, 1024]). */
static int rows_share_an_l1_set(int64_t lda) { return lda % 1024 == 0; }

static int64_t k_block(const struct blocking* b, int64_t k) { return (k + b->k_blocks - 1) / b->k_blocks; }

/* Panels per group: the group's K-block slices (kc x width floats each) fill
 * about group_bytes (a quarter of the target's L2), so the group
 * comes from memory once and every row block of A reuses it from L2.
 * Without groups a word model's output layer (17,907 columns: 18 MiB of
 * panels per K block) streamed all of B from memory once per row block. */
static int64_t panel_group(const struct blocking* b, int64_t kc) {
  return max64(1, b->group_bytes / (kc * b->width * (int64_t)sizeof(float)));
}

typedef float quad __attribute__((vector_size(16)));
typedef float quad_unaligned __attribute__((vector_size(16), aligned(4)));

/* In 4 x 4 blocks: four rows' quads in, four columns' quads out (a float at a time was a load and a
 * store per float; the transposed packing of a word model's output layer weights went from 6.4% of its
 * time to 3.3-4.1%, Zen 5). Any vector ISA, or none, has 4-float shuffles. */
void graphc_transpose_rows(const float* src, int64_t lds, int64_t rows, int64_t kc, float* out, int64_t width) {
  const int64_t rows4 = rows / 4 * 4, kc4 = kc / 4 * 4;
  for (int64_t j = 0; j < rows4; j += 4) {
    const float *s0 = src + j * lds, *s1 = s0 + lds, *s2 = s1 + lds, *s3 = s2 + lds;
    for (int64_t kk = 0; kk < kc4; kk += 4) {
      quad a = *(const quad_unaligned*)(s0 + kk), b = *(const quad_unaligned*)(s1 + kk);
      quad c = *(const quad_unaligned*)(s2 + kk), d = *(const quad_unaligned*)(s3 + kk);
      quad ab_lo = __builtin_shufflevector(a, b, 0, 4, 1, 5), ab_hi = __builtin_shufflevector(a, b, 2, 6, 3, 7);
      quad cd_lo = __builtin_shufflevector(c, d, 0, 4, 1, 5), cd_hi = __builtin_shufflevector(c, d, 2, 6, 3, 7);
      float* o = out + kk * width + j;
      *(quad_unaligned*)o = __builtin_shufflevector(ab_lo, cd_lo, 0, 1, 4, 5);
      *(quad_unaligned*)(o + width) = __builtin_shufflevector(ab_lo, cd_lo, 2, 3, 6, 7);
      *(quad_unaligned*)(o + 2 * width) = __builtin_shufflevector(ab_hi, cd_hi, 0, 1, 4, 5);
      *(quad_unaligned*)(o + 3 * width) = __builtin_shufflevector(ab_hi, cd_hi, 2, 3, 6, 7);
    }
    for (int64_t kk = kc4; kk < kc; ++kk)
      for (int64_t r = 0; r < 4; ++r) out[kk * width + j + r] = src[(j + r) * lds + kk];
  }
  for (int64_t j = rows4; j < width; ++j)
    for (int64_t kk = 0; kk < kc; ++kk) out[kk * width + j] = j < rows ? src[j * lds + kk] : 0.0f;
}

/* Rows [k0, k0 + kc) of panels [q0, q1) of op(B) (B's rows ldb floats apart), slice q at
 * out + (q - q0) * kc * width: whole panels when k0 = 0 and kc = k, else the K block of a panel
 * group that a product packs just before its row blocks use it. */
static void pack_panel_slices(const float* b, int64_t ldb, int32_t tb, int64_t k0, int64_t kc, int64_t n,
                              int64_t width, float* out, int64_t q0, int64_t q1) {
  if (!tb) {
    /* op(B) = B, k x n: each of B's rows gives every panel of the range a contiguous run; read row by row,
     * one run of the range's columns each (a word model's weights have rows 70 KiB apart: panel by panel,
     * every row was a new page and a cache miss per panel, 5% of the fused output layer on Zen 5), the
     * row two ahead prefetched. */
    const int64_t j_begin = q0 * width, j_end = min64(n, q1 * width);
    for (int64_t kk = 0; kk < kc; ++kk) {
      const float* src = b + (k0 + kk) * ldb;
      if (kk + 2 < kc)
        for (int64_t j = j_begin; j < j_end; j += 16) __builtin_prefetch(src + 2 * ldb + j);
      float* o = out + kk * width;
      for (int64_t q = q0; q < q1; ++q, o += kc * width) {
        int64_t j0 = q * width, cols = min64(width, n - j0);
        /* a whole panel's run by a move of a fixed size, inlined: a libc call per row and panel
         * (1,120 x 560 of them in nplm's dW) cost it 1% (Zen 5) */
        if (cols == 32 && width == 32) {
          memcpy(o, src + j0, 32 * sizeof(float));
        } else if (cols == 16 && width == 16) {
          memcpy(o, src + j0, 16 * sizeof(float));
        } else {
          memcpy(o, src + j0, (size_t)cols * sizeof(float));
          if (cols < width) memset(o + cols, 0, (size_t)(width - cols) * sizeof(float));
        }
      }
    }
    return;
  }
  for (int64_t q = q0; q < q1; ++q, out += kc * width) {
    int64_t j0 = q * width, cols = min64(width, n - j0);
    /* op(B) = B^T with B n x k: panel column j is B's row j0 + j */
    if (q + 1 < q1) /* the next panel's rows: B's rows are far apart (an output layer's weights, 2 KiB and
                     * more) and no hardware prefetcher follows them (10% of the fused layer without, 6% with) */
      for (int64_t j = 0; j < width && j0 + width + j < n; ++j)
        for (int64_t kk = 0; kk < kc; kk += 16) __builtin_prefetch(b + (j0 + width + j) * ldb + k0 + kk);
    graphc_transpose_rows(b + j0 * ldb + k0, ldb, cols, kc, out, width);
  }
}

void graphc_pack_panels(const float* b, int32_t tb, int64_t k, int64_t n, int64_t width, float* packed, int64_t p0,
                        int64_t p1) {
  pack_panel_slices(b, tb ? k : n, tb, 0, k, n, width, packed + p0 * k * width, p0, p1);
}

/* dst[0..n) = src[0..n) for a tile's few floats: two fixed-size moves that overlap where n is not
 * their size (a libc memcpy call per tile row was 1.9% of the seed's step). */
static inline void copy_tile_floats(float* dst, const float* src, int64_t n) {
  if (n >= 8 && n <= 16) {
    memcpy(dst, src, 8 * sizeof(float));
    memcpy(dst + n - 8, src + n - 8, 8 * sizeof(float));
  } else if (n >= 4 && n < 8) {
    memcpy(dst, src, 4 * sizeof(float));
    memcpy(dst + n - 4, src + n - 4, 4 * sizeof(float));
  } else {
    memcpy(dst, src, (size_t)n * sizeof(float));
  }
}

/* Copies rows [i0, i1) x k-range [k0, k0 + kc) of op(A) = A^T (A is k x m, rows lda apart) into
 * tiles of `tile` rows: out[t][kk][r] = A[k0 + kk][i0 + tile t + r], zero past i1.
 * Row kk of A is read once, front to back, and dealt out to the tiles (reading
 * each tile's floats down the k rows instead touches a new page per k). */
static void pack_transposed_rows(const float* a, int64_t lda, int64_t i0, int64_t i1, int64_t k0, int64_t kc,
                                 int64_t tile, float* out) {
  int64_t full_end = i0 + (i1 - i0) / tile * tile;
  for (int64_t kk = 0; kk < kc; ++kk) {
    const float* src = a + (k0 + kk) * lda;
    for (int64_t t = i0; t < full_end; t += tile)
      copy_tile_floats(out + (t - i0) * kc + kk * tile, src + t, tile);
    if (full_end < i1) {
      float* dst = out + (full_end - i0) * kc + kk * tile;
      for (int64_t r = 0; r < tile; ++r) dst[r] = full_end + r < i1 ? src[full_end + r] : 0.0f;
    }
  }
}

/* Copies rows [i0, i1) x k-range [k0, k0 + kc) of a row-major A (rows lda apart) into tiles of
 * `tile` rows, the layout pack_transposed_rows makes: out[t][kk][r] = A[i0 + tile t + r][k0 + kk]. */
static void pack_rows(const float* a, int64_t lda, int64_t i0, int64_t i1, int64_t k0, int64_t kc, int64_t tile,
                      float* out) {
  for (int64_t t = i0; t < i1; t += tile)
    graphc_transpose_rows(a + t * lda + k0, lda, min64(tile, i1 - t), kc, out + (t - i0) * kc, tile);
}

/* Where op(B)'s panels are: panel q's rows from k0 on start at base + q * panel_step + k0 * row_step,
 * row_step floats apart. Packed panels: {packed, k * width, width}; a row-major B read in place:
 * {b, width, ldb}. With base NULL, B (rows ldb apart, transposed if tb) is packed K block by
 * K block, one panel group at a time, into a buffer the group's row blocks then share from L2. */
struct panels {
  const float* base;
  int64_t panel_step, row_step;
  const float* b;
  int64_t ldb;
  int32_t tb;
};

static const float* panel_at(const struct panels* b, int64_t q, int64_t k0) {
  return b->base + q * b->panel_step + k0 * b->row_step;
}

/* How a product is shared out over the team. */
enum split { SPLIT_NONE, SPLIT_PANELS, SPLIT_ROWS };

/* One product call: what each of its ranges needs. */
struct product {
  const struct graphc_product_kernels* kernels;
  const float* a;
  int32_t ta;
  int64_t lda;    /* floats between a's rows; 0: a's rows are whole (k, or m when transposed) */
  const float* b; /* an unpacked right operand (graphc_rt_matmul), or NULL */
  int32_t tb;
  int64_t ldb; /* floats between b's rows */
  const float* packed;
  float* c;
  int64_t ldc; /* floats between c's rows */
  int64_t m, n, k;
  graphc_column_kernel epilogue;
  void* const* args;
  /* C's columns are `blocks` equal blocks of whole panels (an LSTM's four gates) that the epilogue
   * reads side by side: panel u of every block is made before the epilogue runs on columns
   * [u * width, (u + 1) * width) of one block. 1: the epilogue's columns are C's. */
  int64_t blocks;
  enum split split;
  int64_t units, grain; /* units: panels per block, what the team splits */
  int parts;
  int32_t accumulate; /* add to C instead of overwriting it */
};

/* Asks for a C tile's lines (to write them) before the tile's K loop, which touches C only at its
 * end, far past any out-of-order window: rows of C far apart in memory (a word model's dw, 70 KiB a
 * row) were a miss each there. About 1% on dw alone, 2% on the fused output layer at two threads. */
static void prefetch_c_tile(float* c, int64_t ldc, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; j += 16) __builtin_prefetch(c + r * ldc + j, 1, 3);
}

/* One panel's K block over rows [i0, i1): the row tiles, rows spread evenly
 * over them (32 rows on a 6-row tile as 6+6+5+5+5+5, not 6+6+6+6+6+2, whose
 * 2-row tile is load-bound). A packed A keeps whole tiles. */
static void panel_block(const struct product* p, const struct blocking* bl, int64_t row_stride, int64_t k_stride,
                        const float* a_packed, const float* panel, int64_t panel_stride, int64_t i0, int64_t i1,
                        int64_t k0, int64_t kc, int64_t col_base, int32_t accumulate) {
  int64_t cols = min64(bl->width, p->n - col_base);
  const graphc_tile_kernel* tiles = cols <= p->kernels->narrow_width ? p->kernels->narrow_tiles : p->kernels->tiles;
  int64_t tiles_left = (i1 - i0 + bl->tile_rows - 1) / bl->tile_rows;
  for (int64_t i = i0, rows; i < i1; i += rows, --tiles_left) {
    rows = a_packed ? min64(bl->tile_rows, i1 - i) : (i1 - i + tiles_left - 1) / tiles_left;
    float* c_tile = p->c + i * p->ldc + col_base;
    prefetch_c_tile(c_tile, p->ldc, rows, cols);
    if (a_packed)
      tiles[rows](a_packed + (i - i0) * kc, 1, bl->tile_rows, panel, panel_stride, kc, c_tile, p->ldc, cols,
                  accumulate);
    else
      tiles[rows](p->a + i * row_stride + k0 * k_stride, row_stride, k_stride, panel, panel_stride, kc, c_tile,
                  p->ldc, cols, accumulate);
  }
}

/* The epilogue on units [u0, u1): columns [u0 * width, u1 * width) of one block. */
static void run_epilogue(const struct product* p, graphc_column_kernel epilogue, int64_t u0, int64_t u1) {
  int64_t width = p->kernels->panel_width;
  if (epilogue && u1 > u0) epilogue(p->args, u0 * width, min64(p->n / p->blocks, u1 * width));
}

/* Participant `slot`'s scratch buffer `which`, or (outside the team) its own. */
static float* scratch_for(int slot, int which, int64_t floats) {
  return slot >= 0 ? graphc_team_scratch(slot, which, floats) : (float*)malloc((size_t)max64(floats, 1) * sizeof(float));
}

/* Floats between A's rows as stored (k apart, or m when A is transposed, unless given). */
static int64_t a_stride(const struct product* p) { return p->lda ? p->lda : p->ta ? p->m : p->k; }

/* Whether a range of `rows` rows of A over `panels` panels copies A into tile order first. A
 * transposed A puts each k in another row of memory (2 KiB apart for the seed's 512 columns): the
 * tile's loads per k each touch a new line and, without huge pages, a new page. Rows of a row-major A
 * a multiple of 4 KiB apart share an L1 set, more of them than it has ways. And where the target's
 * integer work shares the FMA ports (Sapphire Rapids), the tile's per-row address arithmetic on an
 * in-place A costs FMA slots (0.8 of the peak in L1, packed 0.9); on Zen 5, whose integer work does
 * not, the copy cost 2-11% (docs/codegen.md). Only when several panels reuse the copy and it has a
 * tile's worth of rows (a generation step's one row is not worth it). */
static int copies_a(const struct product* p, int64_t rows, int64_t panels) {
  const int row_major_copied = p->kernels->pack_row_major_a ? rows >= p->kernels->tile_rows
                                                            : rows_share_an_l1_set(a_stride(p)) && rows >= 8;
  return panels >= 4 && (p->ta || row_major_copied);
}

/* C[rows r0..r1, panels u0..u1 of every block] = op(A) * op(B), on one thread. With an epilogue, it
 * runs on each unit's columns once they are final in every block (while they are in L1) when the rows
 * are few enough, else on each panel group once it is final (one block of columns) or on the whole
 * range at the end. */
static void multiply_panels(const struct product* p, const struct panels* b, int slot, int64_t r0, int64_t r1,
                            int64_t u0, int64_t u1, graphc_column_kernel epilogue) {
  const struct blocking bl = blocking_for(p->kernels, p->k, p->n);
  const int64_t n = p->n, k = p->k, blocks = p->blocks, units = p->units;
  const int64_t lda = a_stride(p);
  const int64_t row_stride = p->ta ? 1 : lda, k_stride = p->ta ? lda : 1;
  if (k == 0) {
    for (int64_t blk = 0; blk < blocks; ++blk)
      for (int64_t r = r0; r < r1 && !p->accumulate; ++r)
        for (int64_t j = (blk * units + u0) * bl.width; j < min64(n, (blk * units + u1) * bl.width); ++j)
          p->c[r * p->ldc + j] = 0.0f;
    run_epilogue(p, epilogue, u0, u1);
    return;
  }
  const int pack_a = copies_a(p, r1 - r0, (u1 - u0) * blocks); /* K block by K block */
  const int64_t kc0 = k_block(&bl, k);
  const int64_t packed_rows = (r1 - r0 + bl.tile_rows - 1) / bl.tile_rows * bl.tile_rows;
  const int by_unit = epilogue && r1 - r0 <= SHORT_PRODUCT_ROWS && b->base;
  /* unit by unit (below) walks every K block per panel: all of A packed at once; else one K block at a time */
  float* a_buffer = pack_a ? scratch_for(slot, 0, packed_rows * (by_unit ? k : kc0)) : 0;
  if (pack_a && !a_buffer) {
    graphc_kernel_error("matmul: out of memory for a block of its left operand");
    return;
  }
  if (by_unit) {
    /* Unit by unit, all of K: each unit's columns are final while still in
     * L1, and the epilogue (bias, tanh, a gated cell ...) runs on them right
     * away; on a few units at once when the rows are few (a generation step's
     * one row makes a unit 32 elements, less work than the call). */
    if (pack_a)
      for (int64_t k0 = 0; k0 < k; k0 += kc0)
        (p->ta ? pack_transposed_rows : pack_rows)(p->a, lda, r0, r1, k0, min64(kc0, k - k0), bl.tile_rows,
                                                   a_buffer + k0 * packed_rows);
    const int64_t span = max64(1, EPILOGUE_MIN_ELEMENTS / ((r1 - r0) * bl.width));
    for (int64_t u = u0; u < u1; u += span) {
      const int64_t u_end = min64(u1, u + span);
      for (int64_t v = u; v < u_end; ++v)
        for (int64_t blk = 0; blk < blocks; ++blk) {
          const int64_t q = blk * units + v;
          for (int64_t k0 = 0; k0 < k; k0 += kc0)
            panel_block(p, &bl, row_stride, k_stride, pack_a ? a_buffer + k0 * packed_rows : 0, panel_at(b, q, k0),
                        b->row_step, r0, r1, k0, min64(kc0, k - k0), q * bl.width, k0 > 0 || p->accumulate);
        }
      run_epilogue(p, epilogue, u, u_end);
    }
    if (slot < 0) free(a_buffer);
    return;
  }
  const int64_t group = panel_group(&bl, kc0);
  float* group_buffer = b->base ? 0 : scratch_for(slot, 1, group * kc0 * bl.width);
  if (!b->base && !group_buffer) {
    graphc_kernel_error("matmul: out of memory for a panel group of its right operand");
    if (slot < 0) free(a_buffer);
    return;
  }
  for (int64_t k0 = 0; k0 < k; k0 += kc0) {
    int64_t kc = min64(kc0, k - k0);
    /* with one block of columns, a group's are final after their last K block: the epilogue takes them
     * then, while they are in cache (an output layer's exponentials: linear_cross_entropy_train.c) */
    const int group_epilogue = epilogue && blocks == 1 && k0 + kc == k;
    if (pack_a)
      for (int64_t i0 = r0; i0 < r1; i0 += bl.row_block)
        (p->ta ? pack_transposed_rows : pack_rows)(p->a, lda, i0, min64(r1, i0 + bl.row_block), k0, kc,
                                                   bl.tile_rows, a_buffer + (i0 - r0) * kc);
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t p0 = blk * units + u0, p1 = blk * units + u1;
      for (int64_t g0 = p0; g0 < p1; g0 += group) {
        int64_t g1 = min64(p1, g0 + group);
        /* the group's K block: where it is, or packed now (panel q at slice q - g0) */
        struct panels slices = *b;
        int64_t q_base = 0, k_base = 0;
        if (!b->base) {
          pack_panel_slices(b->b, b->ldb, b->tb, k0, kc, n, bl.width, group_buffer, g0, g1);
          slices = (struct panels){group_buffer, kc * bl.width, bl.width, 0, 0, 0};
          q_base = g0, k_base = k0;
        }
        for (int64_t i0 = r0; i0 < r1; i0 += bl.row_block) {
          int64_t i1 = min64(r1, i0 + bl.row_block);
          for (int64_t q = g0; q < g1; ++q)
            panel_block(p, &bl, row_stride, k_stride, pack_a ? a_buffer + (i0 - r0) * kc : 0,
                        panel_at(&slices, q - q_base, k0 - k_base), slices.row_step, i0, i1, k0, kc, q * bl.width,
                        k0 > 0 || p->accumulate);
        }
        if (group_epilogue) run_epilogue(p, epilogue, g0, g1);
      }
    }
  }
  if (slot < 0) free(a_buffer), free(group_buffer);
  if (blocks > 1) run_epilogue(p, epilogue, u0, u1);
}

/* Part `part` of `parts`' share of the rows, in whole tiles: its first row. */
static int64_t row_share_start(const struct product* p, int64_t part) {
  int64_t tile = p->kernels->tile_rows, units = (p->m + tile - 1) / tile;
  return min64(p->m, units * part / p->parts * tile);
}

/* A range of the split: units [begin, end) (panels, with one block), or the rows of parts [begin, end). */
static void product_range(void* ctx, int slot, int64_t begin, int64_t end) {
  const struct product* p = (const struct product*)ctx;
  int64_t r0 = 0, r1 = p->m, p0 = 0, p1 = p->units;
  if (p->split == SPLIT_PANELS) p0 = begin, p1 = end;
  if (p->split == SPLIT_ROWS) r0 = row_share_start(p, begin), r1 = row_share_start(p, end);
  if (r1 <= r0 || p1 <= p0) return;
  const int64_t width = p->kernels->panel_width;
  struct panels b = {p->packed, p->k * width, width, 0, 0, 0};
  if (!p->packed && !p->tb && p->n % width == 0 && r1 - r0 < IN_PLACE_B_ROWS && p->ldb <= IN_PLACE_B_LDB) {
    /* A row-major B of whole panels, short and for few rows, is read where it is: a copy is a pass
     * over B per call. Wider rows are a multiple of 4 KiB apart or nearly, so a panel's K block
     * falls in a few L1 sets and leaves L1 before the next row tile reads it: an LSTM's gate
     * gradient grid ([1120, 2048]) as dW's right operand ran at 79 GFLOP/s in place, 151 packed
     * (Sapphire Rapids); and with many rows the copy is paid once for all of them. */
    b = (struct panels){p->b, width, p->ldb, 0, 0, 0};
  } else if (!p->packed) {
    /* Packed group by group as the range reaches it: a word model's 1120 x 17,907 logits gradient
     * was packed whole (80 MB per thread) and streamed from memory twice. */
    b = (struct panels){0, 0, 0, p->b, p->ldb, p->tb};
  }
  multiply_panels(p, &b, slot, r0, r1, p0, p1, p->split == SPLIT_ROWS ? 0 : p->epilogue);
}

/* A tall product split by rows instead of panels, so that each thread reads only its rows of A and
 * packs B, the smaller operand, itself. Where every thread would copy all of A under a panel split
 * (copies_a for its share of the panels: a tied output layer's dW = G^T X, 1024 x 512 x 228 per
 * chunk of the vocabulary): 1.14-1.35x at two threads, the tied layers' train op 1.04-1.09x. And
 * where A has 1.6 times B's rows or more, read in place: nplm's dX = dL W^T (1120 x 290 x 17,907)
 * 1.08-1.12x, 1120 x 256 x 17,907 1.07x, the seed's dH = dO W_hq^T (1120 x 512 x 28) 1.19-1.25x, a tied
 * H 256 output layer's dx per block of rows (432 x 256 x 17,907) 1.02x alone and the layer 1.05x;
 * under that, level or worse (432 x 290, 384 or 512 x 17,907 0.98-1.0x; Zen 5, alternated). Not with
 * an epilogue, which a row split runs on one thread, nor over pre-packed panels, which no thread packs. */
static int rows_spare_reads_of_a(const struct product* p, int threads) {
  if (p->packed || p->epilogue || p->blocks != 1 || p->m < 4 * p->kernels->tile_rows * threads) return 0;
  return 5 * p->m >= 8 * p->n || (p->m > p->n && copies_a(p, p->m, p->units / threads));
}

/* Splits a product when it repays the hand-off (a microsecond or two): two
 * million FMAs, or weights that take as long to stream (a few rows: m counts
 * as 16 at the least). At one million (a 256 x 256 recurrent product at batch
 * 1) two threads gained 1.15x on an idle machine and lost 0.7x beside a busy
 * process (bench/generation_models.py --under-load). Short products go by panels in guided ranges down to
 * one panel; a tall one in one range per thread (each re-reads all of A),
 * by rows when each would copy all of A or A has 1.6 times B's rows (above); one of few panels by rows. */
static void run_product(struct product* p) {
  int threads = graphc_team_threads();
  int64_t width = p->kernels->panel_width;
  if (p->blocks < 1) p->blocks = 1;
  if (p->blocks > 1 && p->n % (p->blocks * width) != 0) {
    graphc_kernel_error("matmul: an epilogue's column blocks are not whole panels");
    return;
  }
  p->units = graphc_panel_count(p->n, width) / p->blocks;
  p->parts = threads;
  p->split = SPLIT_NONE;
  if (threads > 1 && max64(p->m, 16) * p->n * p->k >= ((int64_t)1 << 21)) {
    if (rows_spare_reads_of_a(p, threads)) {
      p->split = SPLIT_ROWS;
    } else if (p->units >= 2 * threads) {
      p->split = SPLIT_PANELS;
      p->grain = p->m <= SHORT_PRODUCT_ROWS ? 1 : (p->units + threads - 1) / threads;
    } else if (p->m >= 4 * p->kernels->tile_rows * threads) {
      p->split = SPLIT_ROWS;
    }
  }
  switch (p->split) {
    case SPLIT_NONE: graphc_team_ranges(1, 1, product_range, p); break;
    case SPLIT_PANELS:
      /* A generation step's few rows: each thread keeps its own panels, so they stay in its L2 from
       * token to token (guided ranges moved them between cores: a 1 x 256 LSTM's tokens on 2 threads
       * went from 1.06x to 1.28x of 1 thread, Sapphire Rapids). */
      if (p->m < FEW_ROWS) graphc_team_parts(p->units, product_range, p);
      else graphc_team_ranges(p->units, p->grain, product_range, p);
      break;
    case SPLIT_ROWS:
      graphc_team_ranges(p->parts, 1, product_range, p);
      run_epilogue(p, p->epilogue, 0, p->units); /* no thread had whole columns until all were done */
      break;
  }
}

void graphc_rt_matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, int32_t ta, int32_t tb,
                      const struct graphc_product_kernels* kernels) {
  struct product p = {.kernels = kernels, .a = a, .ta = ta, .b = b, .tb = tb, .ldb = tb ? k : n, .c = c, .ldc = n,
                      .m = m, .n = n, .k = k};
  run_product(&p);
}

void graphc_rt_packed_matmul(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k, int32_t ta,
                             const struct graphc_product_kernels* kernels) {
  struct product p = {.kernels = kernels, .a = a, .ta = ta, .packed = packed, .c = c, .ldc = n, .m = m, .n = n, .k = k};
  run_product(&p);
}

void graphc_rt_packed_matmul_epilogue(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                                      int32_t ta, const struct graphc_product_kernels* kernels,
                                      int64_t blocks, graphc_column_kernel epilogue, void* const* args) {
  struct product p = {.kernels = kernels, .a = a, .ta = ta, .packed = packed, .c = c, .ldc = n, .m = m, .n = n, .k = k,
                      .epilogue = epilogue, .args = args, .blocks = blocks};
  run_product(&p);
}

struct packing {
  const float* b;
  float* packed;
  int64_t k, n, width;
  int32_t tb;
};

static void pack_range(void* ctx, int slot, int64_t p0, int64_t p1) {
  const struct packing* pk = (const struct packing*)ctx;
  (void)slot;
  graphc_pack_panels(pk->b, pk->tb, pk->k, pk->n, pk->width, pk->packed, p0, p1);
}

void graphc_rt_pack_panels(const float* b, float* packed, int64_t k, int64_t n, int32_t tb, int64_t width) {
  struct packing pk = {b, packed, k, n, width, tb};
  int64_t panels = graphc_panel_count(n, width);
  graphc_team_ranges(panels, k * n >= ((int64_t)1 << 16) ? 1 : panels, pack_range, &pk); /* small: one thread */
}

void graphc_product_packed(const float* a, int32_t ta, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                           int32_t accumulate, const struct graphc_product_kernels* kernels) {
  struct product p = {.kernels = kernels, .a = a, .ta = ta, .packed = packed, .c = c, .ldc = n, .m = m, .n = n, .k = k,
                      .accumulate = accumulate};
  run_product(&p);
}

void graphc_product_strided(const float* a, int64_t lda, int32_t ta, const float* b, int64_t ldb, int32_t tb, float* c,
                            int64_t ldc, int64_t m, int64_t n, int64_t k, int32_t accumulate,
                            const struct graphc_product_kernels* kernels) {
  graphc_product_strided_epilogue(a, lda, ta, b, ldb, tb, c, ldc, m, n, k, accumulate, kernels, 0, 0);
}

void graphc_product_strided_epilogue(const float* a, int64_t lda, int32_t ta, const float* b, int64_t ldb, int32_t tb,
                                     float* c, int64_t ldc, int64_t m, int64_t n, int64_t k, int32_t accumulate,
                                     const struct graphc_product_kernels* kernels, graphc_column_kernel epilogue,
                                     void* const* args) {
  struct product p = {.kernels = kernels, .a = a, .ta = ta, .lda = lda, .b = b, .tb = tb, .ldb = ldb, .c = c, .ldc = ldc,
                      .m = m, .n = n, .k = k, .epilogue = epilogue, .args = args, .accumulate = accumulate};
  run_product(&p);
}
