/* kernels/linear_cross_entropy_train.c — the output layer, its softmax
 * cross-entropy and their gradient in one pass over the rows
 * (graph/Op.def: linear_cross_entropy_train), for a training step whose
 * incoming gradient is known before the loss (a mean's 1/N).
 *
 * linear_cross_entropy_grad (linear_cross_entropy.c) must make the logits a
 * second time: a vocabulary chunk's softmax needs every chunk's log-sum-exp.
 * Here the rows are cut into blocks instead, and a block's logits over the
 * whole vocabulary (rows x V floats, ROW_BLOCK_FLOATS at most) stay in the
 * cache while they become the loss, then the gradient in place, then feed the
 * dx and dw products: three products, the unfused graph's count. The price is
 * the weights read twice and dw read and written once per row block, which
 * the blocks' height (a few hundred rows for an 18k vocabulary) amortises.
 *
 * Every sum has an order fixed by n, k, v and the target's tile alone (dw and
 * db add the blocks in row order; db in double, each block by groups of
 * ROW_GROUP rows), so the bits do not depend on the threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
/* Rows of a [V, K] dw per product: the product copies its transposed left operand (the block's
 * gradient, rows x DW_ROWS) into tile order per thread; all of V at once was 16 MiB per thread. */
#define DW_ROWS 1024

/* Rows per group of the row pass. Each group adds its rows' gradients into column sums of its own
 * while the rows are in cache, and the groups' sums are added in group order after: the bias
 * gradient's bits are fixed by the rows, not by which thread took which group. (A separate pass
 * over the block's columns read all of its gradient once more from memory: 2-3% of the layer.) */
#define ROW_GROUP 32

struct train_step {
  const float *x, *w, *b, *dloss;
  const int32_t* labels;
  int64_t k, v;
  float* logits;      /* the block's rows x v, then their gradient */
  double* group_sums; /* per group of the block, its rows' gradient summed per column */
  double* db;         /* the bias gradient so far, per column */
  float* loss;        /* every row's */
  int64_t r0, rows;   /* the block's first row and its height */
};

/* g[0..n) *= scale and sums[0..n) (+)= g (= for a group's first row). */
static void scale_and_sum(float* g, double* sums, int64_t n, float scale, int first) {
  for (int64_t j = 0; j < n; ++j) {
    g[j] *= scale;
    sums[j] = first ? (double)g[j] : sums[j] + (double)g[j];
  }
}

/* Groups [g0, g1) of the block: each row's bias, loss and (softmax - onehot) x dloss in place, in
 * three passes over the row (bias and maximum; the exponentials kept and summed; their scaling and
 * the column sums). The loss adds the exponentials as graphc_rows_softmax_cross_entropy does. */
static void block_row_groups(void* ctx, int slot, int64_t g0, int64_t g1) {
  struct train_step* s = (struct train_step*)ctx;
  (void)slot;
  const int64_t v = s->v;
  for (int64_t g = g0; g < g1; ++g) {
    double* sums = s->group_sums + g * v;
    const int64_t end = (g + 1) * ROW_GROUP < s->rows ? (g + 1) * ROW_GROUP : s->rows;
    for (int64_t r = g * ROW_GROUP; r < end; ++r) {
      float* z = s->logits + r * v;
      const float max = graphc_rows_add_max(z, s->b, v);
      const int64_t row = s->r0 + r, label = s->labels[row];
      const float label_logit = z[label];
      const double sum = graphc_rows_exp_shifted_sum(z, v, max);
      s->loss[row] = (float)(((double)max + log(sum)) - (double)label_logit);
      /* softmax = e / sum; the label's entry less one, all times dloss */
      const float scale = s->dloss[row], per_exp = (float)((double)scale / sum);
      const int first = r == g * ROW_GROUP;
      scale_and_sum(z, sums, label, per_exp, first);
      z[label] = z[label] * per_exp - scale;
      sums[label] = first ? (double)z[label] : sums[label] + (double)z[label];
      scale_and_sum(z + label + 1, sums + label + 1, v - label - 1, per_exp, first);
    }
  }
}

struct column_sums {
  const double* group_sums;
  double* sums;
  int64_t groups, v;
};

/* sums[c] += the groups' sums of column c, in group order. */
static void add_group_sums(void* ctx, int slot, int64_t c0, int64_t c1) {
  struct column_sums* s = (struct column_sums*)ctx;
  (void)slot;
  for (int64_t g = 0; g < s->groups; ++g) {
    const double* group = s->group_sums + g * s->v;
    for (int64_t c = c0; c < c1; ++c) s->sums[c] += group[c];
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
  const int64_t height = block_height(n, v, kernels->tile_rows);
  struct train_step s = {.x = x, .w = w, .b = b, .dloss = dloss, .labels = labels, .k = k, .v = v, .loss = loss};
  s.logits = (float*)malloc((size_t)(height > 0 ? height * v : 1) * sizeof(float));
  s.db = (double*)calloc((size_t)(v > 0 ? v : 1), sizeof(double));
  const int64_t groups = (height + ROW_GROUP - 1) / ROW_GROUP;
  s.group_sums = (double*)malloc((size_t)(groups * v > 0 ? groups * v : 1) * sizeof(double));
  if (!s.logits || !s.db || !s.group_sums) {
    graphc_kernel_error("linear_cross_entropy_train: out of memory for %lld rows of %lld logits", (long long)height,
                        (long long)v);
  } else {
    if (n == 0) memset(dw, 0, (size_t)(k * v) * sizeof(float));
    for (s.r0 = 0; s.r0 < n; s.r0 += height) {
      const int64_t rows = s.rows = height < n - s.r0 ? height : n - s.r0;
      const float* xb = x + s.r0 * k;
      /* the block's logits: x's rows times w (w [V, K] transposed) */
      graphc_product_strided(xb, k, 0, w, tw ? k : v, tw, s.logits, v, rows, v, k, 0, kernels);
      const int64_t block_groups = (rows + ROW_GROUP - 1) / ROW_GROUP;
      graphc_team_ranges(block_groups, 1, block_row_groups, &s);
      struct column_sums sums = {.group_sums = s.group_sums, .sums = s.db, .groups = block_groups, .v = v};
      graphc_team_ranges(v, 1024, add_group_sums, &sums);
      /* the block's dx = g times w transposed (w [V, K] as it is) */
      graphc_product_strided(s.logits, v, 0, w, tw ? k : v, !tw, dx + s.r0 * k, k, rows, k, v, 0, kernels);
      if (tw) /* dw (+)= g^T x, DW_ROWS of dw at a time: g^T is copied into tile order first */
        for (int64_t c0 = 0; c0 < v; c0 += DW_ROWS)
          graphc_product_strided(s.logits + c0, v, 1, xb, k, 0, dw + c0 * k, k, DW_ROWS < v - c0 ? DW_ROWS : v - c0, k,
                                 rows, s.r0 > 0, kernels);
      else /* dw (+)= x^T g */
        graphc_product_strided(xb, k, 1, s.logits, v, 0, dw, v, k, v, rows, s.r0 > 0, kernels);
    }
    for (int64_t c = 0; c < v; ++c) db[c] = (float)s.db[c];
  }
  free(s.logits), free(s.db), free(s.group_sums);
}
