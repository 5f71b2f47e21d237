/* kernels/linear_cross_entropy_train.c — the output layer, its softmax
 * cross-entropy and their gradient in one pass over the rows
 * (graph/Op.def: linear_cross_entropy_train), for a training step whose
 * incoming gradient is known before the loss (a mean's 1/N).
 *
 * linear_cross_entropy_grad (linear_cross_entropy.c) must make the logits a
 * second time: a vocabulary chunk's softmax needs every chunk's log-sum-exp.
 * Here the rows are cut into blocks instead, and a block's logits over the
 * whole vocabulary (rows x V floats, ROW_BLOCK_FLOATS at most) are made once
 * and feed the dx and dw products: three products, the unfused graph's count.
 *
 * The logits product's epilogue turns each panel group of the block into
 * exponentials while the group is in cache: e = e^(z - s) for z = x w + b,
 * with a shift s per row taken from its first SHIFT_COLUMNS logits, and each
 * panel's e summed. A row's softmax is then e / S (S = the row's sum of e) and
 * the gradient dloss (softmax - onehot) is f e' with f = dloss / S and e' = e
 * but at the label, e - S. So the products take e' as it is and the row
 * factors go to their small sides: with W the weights as [K, V], dx = f (e'
 * W^T) and dw = (f x)^T e' (f also as a last column of that operand, so the
 * same product sums db as dw's next row); a tied w stored [V, K] takes the
 * same product's [dw^T; db^T] chunk by chunk, transposed into dw as it is
 * made. Shifting by the row's maximum instead needs all its logits first: a
 * pass over the block read from and written to memory (with its arithmetic
 * 6-11% of a word model's layer on one thread, Zen 5).
 *
 * A logit more than EXP_HEADROOM above its row's shift (or a NaN) marks its
 * panel's sum, and that row is made again the exact way: its logits made
 * again (by one product for up to REMADE_ROWS such rows), shifted by their
 * maximum.
 *
 * Every sum has an order fixed by n, k, v and the target's tile alone (a
 * row's panels added in column order, dw and db over the blocks in row
 * order), so the bits do not depend on the threads. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exp_non_positive.h"
#include "product.h"
#include "rows.h"
#include "runtime_kernels.h"
#include "team.h"

/* A row block's logits: rows x V floats at most this many (30 MiB; 432 rows of an 18k vocabulary).
 * Each block reads the weights twice and dw once more: 30 MiB blocks against 16 MiB took a word
 * model's layer from five blocks to three, 1.03x on one thread, 1.04-1.06x on two (Zen 5). Under
 * glibc's 32 MiB ceiling for its sliding mmap threshold, so after the first call the block comes
 * from the heap: a 48 MiB one was mapped afresh every call and its page faults cost 1.35x. */
#define ROW_BLOCK_FLOATS ((int64_t)30 << 18)
/* Rows of a [V, K] dw per product: made transposed, as [K + 1, DW_ROWS] (db its last row) in a
 * scratch whose panel groups the product's epilogue adds into dw while they are in cache. */
#define DW_ROWS 2048
/* Floats between the scratch's rows: DW_ROWS would put its rows 8 KiB apart, in one L1 set. */
#define DW_SCRATCH_LD (DW_ROWS + 16)
/* The logits whose largest shifts a row's exponentials: made by a product of their own first. */
#define SHIFT_COLUMNS 256
/* How far above its row's shift a logit may be: a row's sum stays below V e^40 (4e21 for 18k
 * columns; float's largest is 3e38) and its factor dloss / S a normal float for any dloss above
 * 1e-14 with V below a million. A trained model's logits rarely rise 40 above every one of its
 * first columns' (the commonest words, where the vocabulary is sorted by frequency). */
#define EXP_HEADROOM 40.0f
/* Rows made again by one product (remake_rows), which packs W once for all of them: a product per row
 * repacked all of W for each, and a diverging run, whose every row is made again, took twice as long. */
#define REMADE_ROWS 64
/* Float lanes of the row loops and the panel sums (tree_sum is written for 16). */
#define LANES 16

struct train_block {
  const float *x, *w, *b, *dloss;
  const int32_t* labels;
  int64_t k, v;
  int32_t tw; /* w is [V, K] */
  const struct graphc_product_kernels* kernels;
  int64_t r0, rows; /* the block's first row and its height */
  int64_t first;    /* the columns whose largest logit is the shift: the rest are the epilogue's */
  float* logits;    /* the block's rows x v: e, then e' */
  float* shift;     /* per row of the block */
  float* label_logit; /* per row: its label's logit, the bias added */
  float* factor;      /* f */
  float* panel_sums;  /* rows x panels: each panel's e summed, +inf when one was over the headroom */
  unsigned char* remade; /* per row: 1 when finish_rows left it to remake_rows */
  int64_t width, panels;
  float* scaled_xt; /* [f x, f] transposed: (k + 1) x rows, row c is f x[:, c] and row k is f */
  double* db;       /* tied: the bias gradient so far */
  float* dw_scratch; /* tied: (k + 1) x DW_SCRATCH_LD, a chunk of [dw^T; db^T] */
  float* dw;         /* the op's: [K, V], db its next row; tied, [V, K] */
  float* loss;
};

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* z[j] = e^(z[j] + b[j] - shift) for j < n; returns 1 when some z[j] + b[j] - shift is over
 * EXP_HEADROOM or NaN, else 0. */
static int exponentiate(float* restrict z, const float* restrict b, int64_t n, float shift) {
  float over[LANES] = {0};
  int64_t j = 0;
  for (; j + LANES <= n; j += LANES)
    for (int l = 0; l < LANES; ++l) {
      const float d = z[j + l] + b[j + l] - shift;
      over[l] += d <= EXP_HEADROOM ? 0.0f : 1.0f;
      const float e = graphc_exp_in_range(d > -87.0f ? (d < EXP_HEADROOM ? d : EXP_HEADROOM) : -87.0f);
      z[j + l] = d < -87.0f ? 0.0f : e;
    }
  for (; j < n; ++j) {
    const float d = z[j] + b[j] - shift;
    over[0] += d <= EXP_HEADROOM ? 0.0f : 1.0f;
    z[j] = d < -87.0f ? 0.0f : graphc_exp_in_range(d > -87.0f ? (d < EXP_HEADROOM ? d : EXP_HEADROOM) : -87.0f);
  }
  float any = 0;
  for (int l = 0; l < LANES; ++l) any += over[l];
  return any > 0;
}

typedef float lanes16 __attribute__((vector_size(LANES * sizeof(float))));
typedef float lanes8 __attribute__((vector_size(8 * sizeof(float))));
typedef float lanes4 __attribute__((vector_size(4 * sizeof(float))));
typedef float lanes2 __attribute__((vector_size(2 * sizeof(float))));

/* x's lanes added in a fixed tree: lane l and l + 8, then l + 4, l + 2, l + 1. (By pointer: a
 * 64-byte vector argument has no ABI without AVX-512.) */
static inline float tree_sum(const lanes16* x) {
  const lanes8 a = __builtin_shufflevector(*x, *x, 0, 1, 2, 3, 4, 5, 6, 7) +
                   __builtin_shufflevector(*x, *x, 8, 9, 10, 11, 12, 13, 14, 15);
  const lanes4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
  const lanes2 c = __builtin_shufflevector(b, b, 0, 1) + __builtin_shufflevector(b, b, 2, 3);
  return c[0] + c[1];
}

/* The sum of z[0..n): column j in lane j % LANES, the lanes added by tree_sum. Inlined with the panel
 * width constant. */
static inline float panel_sum(const float* z, int64_t n) {
  lanes16 lanes = {0};
  int64_t j = 0;
  for (; j + LANES <= n; j += LANES) {
    lanes16 x;
    memcpy(&x, z + j, sizeof x);
    lanes += x;
  }
  for (; j < n; ++j) lanes[j % LANES] += z[j];
  return tree_sum(&lanes);
}

/* sums[p] = panel_sum of z's panel p, for the panels of [0, n) (`width` columns each, the last maybe fewer). */
static void panel_sums(const float* z, int64_t n, int64_t width, float* sums) {
  int64_t c0 = 0;
  if (width == 32)
    for (; c0 + 32 <= n; c0 += 32) *sums++ = panel_sum(z + c0, 32);
  if (width == 16)
    for (; c0 + 16 <= n; c0 += 16) *sums++ = panel_sum(z + c0, 16);
  for (; c0 < n; c0 += width) *sums++ = panel_sum(z + c0, min64(width, n - c0));
}

/* Columns [j0, j1) of rows [r0, r1) of the block, whole panels (but the last), to exponentials and
 * panel sums (the first +inf when one is over the headroom); the label's logit where it is one of
 * them. */
static void exponentiate_rows(const struct train_block* s, int64_t r0, int64_t r1, int64_t j0, int64_t j1) {
  const int64_t v = s->v, width = s->width;
  for (int64_t r = r0; r < r1; ++r) {
    float* z = s->logits + r * v;
    float* sums = s->panel_sums + r * s->panels + j0 / width;
    const int64_t label = s->labels[s->r0 + r];
    if (label >= j0 && label < j1) s->label_logit[r] = z[label] + s->b[label];
    const int over = exponentiate(z + j0, s->b + j0, j1 - j0, s->shift[r]);
    panel_sums(z + j0, j1 - j0, width, sums);
    if (over) sums[0] = INFINITY;
  }
}

/* The logits product's epilogue: its columns [j0, j1) of every row (the block's from `first` on). */
static void exponentiate_columns(void* const* args, int64_t j0, int64_t j1) {
  const struct train_block* s = (const struct train_block*)args[0];
  exponentiate_rows(s, 0, s->rows, s->first + j0, s->first + j1);
}

/* The largest of z[j] + b[j], j < n. */
static float biased_max(const float* z, const float* b, int64_t n) {
  float lanes[LANES];
  for (int l = 0; l < LANES; ++l) lanes[l] = -INFINITY;
  int64_t j = 0;
  for (; j + LANES <= n; j += LANES)
    for (int l = 0; l < LANES; ++l) lanes[l] = lanes[l] < z[j + l] + b[j + l] ? z[j + l] + b[j + l] : lanes[l];
  for (; j < n; ++j) lanes[0] = lanes[0] < z[j] + b[j] ? z[j] + b[j] : lanes[0];
  float mx = -INFINITY;
  for (int l = 0; l < LANES; ++l) mx = mx < lanes[l] ? lanes[l] : mx;
  return mx;
}

/* Rows [r0, r1) of the block's first columns: their shift (the largest) and exponentials. */
static void shift_rows(void* ctx, int slot, int64_t r0, int64_t r1) {
  struct train_block* s = (struct train_block*)ctx;
  (void)slot;
  for (int64_t r = r0; r < r1; ++r) s->shift[r] = biased_max(s->logits + r * s->v, s->b, s->first);
  exponentiate_rows(s, r0, r1, 0, s->first);
}

/* Row r of the block, its logits exponentiated (shifted by `shift`, summing to `sum`): the loss, f, the
 * label's e - S; and the small side of the dw products, [f x, f] transposed. */
static void finish_row(const struct train_block* s, int64_t r, double sum, double shift, double label_logit) {
  const int64_t row = s->r0 + r, label = s->labels[row], k = s->k, rows = s->rows;
  float* z = s->logits + r * s->v;
  s->loss[row] = (float)((shift + log(sum)) - label_logit);
  const float f = s->factor[r] = (float)((double)s->dloss[row] / sum);
  z[label] = (float)((double)z[label] - sum);
  for (int64_t c = 0; c < k; ++c) s->scaled_xt[c * rows + r] = f * s->x[row * k + c];
  s->scaled_xt[k * rows + r] = f;
}

/* Rows [r0, r1) of the block: finished, but those with a panel over the headroom (or a NaN), marked for
 * remake_rows. */
static void finish_rows(void* ctx, int slot, int64_t r0, int64_t r1) {
  struct train_block* s = (struct train_block*)ctx;
  (void)slot;
  for (int64_t r = r0; r < r1; ++r) {
    double sum = 0;
    for (int64_t p = 0; p < s->panels; ++p) sum += s->panel_sums[r * s->panels + p];
    s->remade[r] = !(sum <= DBL_MAX);
    if (!s->remade[r]) finish_row(s, r, sum, s->shift[r], s->label_logit[r]);
  }
}

/* The rows finish_rows marked, the exact way: their logits made again, REMADE_ROWS at a time by one
 * product into a scratch (a row's bits do not depend on the rows beside it), each copied back, shifted
 * by its maximum, and finished. Returns 0, or -1 without memory for the scratch. */
static int remake_rows(const struct train_block* s) {
  int64_t marked = 0;
  for (int64_t r = 0; r < s->rows; ++r) marked += s->remade[r];
  if (marked == 0) return 0;
  const int64_t k = s->k, v = s->v, chunk = min64(marked, REMADE_ROWS);
  float* xs = (float*)malloc((size_t)(chunk * (k + v)) * sizeof(float));
  if (!xs) return -1;
  float* zs = xs + chunk * k;
  int64_t block_row[REMADE_ROWS];
  for (int64_t r = 0; r < s->rows;) {
    int64_t n = 0;
    for (; r < s->rows && n < chunk; ++r)
      if (s->remade[r]) {
        block_row[n] = r;
        memcpy(xs + n * k, s->x + (s->r0 + r) * k, (size_t)k * sizeof(float));
        ++n;
      }
    if (n == 0) break;
    graphc_product_strided(xs, k, 0, s->w, s->tw ? k : v, s->tw, zs, v, n, v, k, 0, s->kernels);
    for (int64_t i = 0; i < n; ++i) {
      float* z = s->logits + block_row[i] * v;
      memcpy(z, zs + i * v, (size_t)v * sizeof(float));
      const float max = graphc_rows_add_max(z, s->b, v);
      const double label_logit = z[s->labels[s->r0 + block_row[i]]];
      finish_row(s, block_row[i], graphc_rows_exp_shifted_sum(z, v, max), max, label_logit);
    }
  }
  free(xs);
  return 0;
}

/* The block's logits to e': the shift from the first columns, the rest exponentiated in the
 * product; then per row the loss, f, and the label's e - S. */
static void exponentials(struct train_block* s) {
  const int64_t v = s->v, k = s->k, rows = s->rows, first = s->first;
  const float* xb = s->x + s->r0 * k;
  graphc_product_strided(xb, k, 0, s->w, s->tw ? k : v, s->tw, s->logits, v, rows, first, k, 0, s->kernels);
  graphc_team_ranges(rows, 16, shift_rows, s);
  void* args[1] = {s};
  if (first < v)
    graphc_product_strided_epilogue(xb, k, 0, s->tw ? s->w + first * k : s->w + first, s->tw ? k : v, s->tw,
                                    s->logits + first, v, rows, v - first, k, 0, s->kernels, exponentiate_columns, args);
  graphc_team_ranges(rows, 16, finish_rows, s);
  if (remake_rows(s) != 0)
    graphc_kernel_error("linear_cross_entropy_train: out of memory for %lld logits made again", (long long)v);
}

typedef float quad __attribute__((vector_size(16)));
typedef float quad_unaligned __attribute__((vector_size(16), aligned(4)));

/* The tied dw product's epilogue: the scratch's columns [j0, j1) (dw rows c0 + j0 .. c0 + j1, made
 * transposed) added into dw (written, for the first block), their db into db; 4 x 4 blocks, four
 * of the scratch's rows in as quads, four of dw's out. */
static void add_dw_columns(void* const* args, int64_t j0, int64_t j1) {
  const struct train_block* s = (const struct train_block*)args[0];
  const int64_t c0 = *(const int64_t*)args[1], k = s->k, k4 = k / 4 * 4, ld = DW_SCRATCH_LD;
  const float* g = s->dw_scratch;
  const int first = s->r0 == 0;
  int64_t j = j0;
  for (; j + 4 <= j1; j += 4) {
    float* d0 = s->dw + (c0 + j) * k;
    for (int64_t i = 0; i < k4; i += 4) {
      const float* src = g + i * ld + j;
      const quad a = *(const quad_unaligned*)src, b = *(const quad_unaligned*)(src + ld);
      const quad c = *(const quad_unaligned*)(src + 2 * ld), d = *(const quad_unaligned*)(src + 3 * ld);
      const quad ab_lo = __builtin_shufflevector(a, b, 0, 4, 1, 5), ab_hi = __builtin_shufflevector(a, b, 2, 6, 3, 7);
      const quad cd_lo = __builtin_shufflevector(c, d, 0, 4, 1, 5), cd_hi = __builtin_shufflevector(c, d, 2, 6, 3, 7);
      const quad out[4] = {__builtin_shufflevector(ab_lo, cd_lo, 0, 1, 4, 5),
                           __builtin_shufflevector(ab_lo, cd_lo, 2, 3, 6, 7),
                           __builtin_shufflevector(ab_hi, cd_hi, 0, 1, 4, 5),
                           __builtin_shufflevector(ab_hi, cd_hi, 2, 3, 6, 7)};
      for (int q = 0; q < 4; ++q) {
        quad_unaligned* o = (quad_unaligned*)(d0 + q * k + i);
        *o = first ? out[q] : *o + out[q];
      }
    }
  }
  /* the columns past the last four, and the rows past the last four of every column */
  for (int64_t jj = j0; jj < j1; ++jj) {
    float* row = s->dw + (c0 + jj) * k;
    for (int64_t i = jj < j ? k4 : 0; i < k; ++i) row[i] = first ? g[i * ld + jj] : row[i] + g[i * ld + jj];
    s->db[c0 + jj] += g[k * ld + jj];
  }
}

/* The block's dx, and its share of dw and db. */
static void gradients(struct train_block* s, float* dx) {
  const int64_t v = s->v, k = s->k, rows = s->rows;
  /* dx = f (e' W^T) */
  float* dxb = dx + s->r0 * k;
  graphc_product_strided(s->logits, v, 0, s->w, s->tw ? k : v, !s->tw, dxb, k, rows, k, v, 0, s->kernels);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < k; ++c) dxb[r * k + c] *= s->factor[r];
  if (s->tw) {
    /* [dw^T; db^T] (+)= [f x, f]^T e' a chunk of DW_ROWS columns at a time, into the scratch, whose
     * panel groups the epilogue adds into dw's rows (e' read down its rows, as the untied product
     * does, where dw = e'^T (f x) copied e' into tile order, and db was a pass of its own) */
    for (int64_t c0 = 0; c0 < v; c0 += DW_ROWS) {
      void* args[2] = {s, &c0};
      graphc_product_strided_epilogue(s->scaled_xt, rows, 0, s->logits + c0, v, 0, s->dw_scratch, DW_SCRATCH_LD, k + 1,
                                      min64(DW_ROWS, v - c0), rows, 0, s->kernels, add_dw_columns, args);
    }
  } else {
    /* [dw; db] (+)= [f x, f]^T e': db is the row after dw's k */
    graphc_product_strided(s->scaled_xt, rows, 0, s->logits, v, 0, s->dw, v, k + 1, v, rows, s->r0 > 0, s->kernels);
  }
}

/* Rows per block: as many as fit ROW_BLOCK_FLOATS, whole tiles, all of n when it fits. */
static int64_t block_height(int64_t n, int64_t v, int64_t tile_rows) {
  int64_t h = ROW_BLOCK_FLOATS / (v > 0 ? v : 1) / tile_rows * tile_rows;
  if (h < tile_rows) h = tile_rows;
  return h < n ? h : n;
}

void graphc_rt_linear_cross_entropy_train(const float* x, const float* w, const float* b, const int32_t* labels,
                                          const float* dloss, float* out, int64_t n, int64_t k, int64_t v, int32_t tw,
                                          const struct graphc_product_kernels* kernels) {
  float *loss = out, *dx = out + n, *dw = out + n + n * k, *db = out + n + n * k + k * v;
  const int64_t bad = graphc_rows_label_outside(labels, n, v);
  if (bad >= 0) {
    graphc_kernel_error("linear_cross_entropy_train label %d out of range [0, %lld)", labels[bad], (long long)v);
    return;
  }
  if (n == 0) {
    memset(dw, 0, (size_t)(k * v + v) * sizeof(float));
    return;
  }
  const int64_t height = block_height(n, v, kernels->tile_rows), width = kernels->panel_width;
  struct train_block s = {.x = x, .w = w, .b = b, .dloss = dloss, .labels = labels, .k = k, .v = v, .tw = tw,
                          .kernels = kernels, .first = min64(v, (SHIFT_COLUMNS + width - 1) / width * width),
                          .width = width, .panels = (v + width - 1) / width, .loss = loss, .dw = dw};
  s.logits = (float*)malloc((size_t)(height * v) * sizeof(float));
  s.shift = (float*)malloc((size_t)(3 * height + height * s.panels + height * (k + 1)) * sizeof(float));
  s.remade = (unsigned char*)malloc((size_t)height);
  s.db = tw ? (double*)calloc((size_t)v, sizeof(double)) : 0;
  s.dw_scratch = tw ? (float*)malloc((size_t)((k + 1) * DW_SCRATCH_LD) * sizeof(float)) : 0;
  if (!s.logits || !s.shift || !s.remade || (tw && (!s.db || !s.dw_scratch))) {
    graphc_kernel_error("linear_cross_entropy_train: out of memory for %lld rows of %lld logits", (long long)height,
                        (long long)v);
  } else {
    s.label_logit = s.shift + height, s.factor = s.label_logit + height, s.panel_sums = s.factor + height;
    s.scaled_xt = s.panel_sums + height * s.panels;
    for (s.r0 = 0; s.r0 < n; s.r0 += height) {
      s.rows = min64(height, n - s.r0);
      exponentials(&s);
      gradients(&s, dx);
    }
    if (tw)
      for (int64_t c = 0; c < v; ++c) db[c] = (float)s.db[c];
  }
  free(s.logits), free(s.shift), free(s.remade), free(s.db), free(s.dw_scratch);
}
