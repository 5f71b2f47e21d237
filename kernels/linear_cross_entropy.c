/* kernels/linear_cross_entropy.c — the output layer and its softmax
 * cross-entropy without the rows x V logits (graph/Op.def:
 * linear_cross_entropy and its gradient).
 *
 * The vocabulary is cut into chunks of columns, so a chunk's logits (rows x
 * chunk floats, about 4 MiB) stay in cache. The forward pass makes each
 * chunk's logits with the product driver and folds them into each row's
 * running maximum and sum of exponentials (an online log-sum-exp). The
 * backward pass cannot form softmax - onehot before a row's log-sum-exp is
 * final, so it makes each chunk's logits again (one product more than the
 * unfused graph: the price of never holding rows x V floats), turns them into
 * the gradient in place and feeds that straight into the dw and dx products.
 * The products read the chunk's weights and write dw's chunk where they are
 * (graphc_product_strided): no copy of either is made.
 * With one chunk the loss is bit for bit the unfused graph's: the same
 * product, the same bias add, the same row formula. Every output element is
 * computed by one range, in a fixed order: the bits do not depend on threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exp_non_positive.h"
#include "product.h"
#include "rows.h"
#include "runtime_kernels.h"
#include "team.h"

/* Logits per chunk: rows x chunk floats at most this many (4 MiB). */
#define CHUNK_FLOATS ((int64_t)1 << 20)

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

struct layer {
  const float *x, *w, *b;
  const int32_t* labels;
  int64_t n, k, v;
  int32_t tw; /* w is [V, K] */
  const struct graphc_product_kernels* kernels;
  int64_t chunk, v0, vc; /* the chunk width; this chunk's first column and width */
  float* logits;         /* n x vc */
  /* forward */
  float* row_max;
  double* row_sum;
  float* label_logit;
  /* backward */
  const float *loss, *dloss;
  float* lse;
  float *dx, *dw, *db;
};

static int64_t chunk_width(int64_t n, int64_t v, int64_t width) {
  int64_t c = CHUNK_FLOATS / max64(n, 1) / width * width;
  return min64(v, max64(c, 4 * width));
}

/* The chunk's logits (before the bias): x times columns [v0, v0 + vc) of w. */
static void chunk_logits(struct layer* l) {
  if (l->tw) /* w is [V, K]: the chunk's rows, transposed */
    graphc_product_strided(l->x, l->k, 0, l->w + l->v0 * l->k, l->k, 1, l->logits, l->vc, l->n, l->vc, l->k, 0, l->kernels);
  else
    graphc_product_strided(l->x, l->k, 0, l->w + l->v0, l->v, 0, l->logits, l->vc, l->n, l->vc, l->k, 0, l->kernels);
}

static void forward_rows(void* ctx, int slot, int64_t r0, int64_t r1) {
  struct layer* l = (struct layer*)ctx;
  (void)slot;
  for (int64_t r = r0; r < r1; ++r) {
    float* z = l->logits + r * l->vc;
    const float chunk_max = graphc_rows_add_max(z, l->b + l->v0, l->vc);
    if (l->v0 == 0 || chunk_max > l->row_max[r]) { /* the running maximum grows: rescale the sum to it */
      const double kept = l->v0 == 0 ? 0.0 : l->row_sum[r] * exp((double)l->row_max[r] - (double)chunk_max);
      l->row_sum[r] = kept + graphc_rows_sum_exp_shifted(z, l->vc, chunk_max);
      l->row_max[r] = chunk_max;
    } else {
      l->row_sum[r] += graphc_rows_sum_exp_shifted(z, l->vc, l->row_max[r]);
    }
    const int64_t label = l->labels[r];
    if (label >= l->v0 && label < l->v0 + l->vc) l->label_logit[r] = z[label - l->v0];
  }
}

/* Scratch for a chunk's logits. */
static int alloc_chunk(struct layer* l) {
  l->logits = (float*)malloc((size_t)max64(l->n * l->chunk, 1) * sizeof(float));
  return l->logits != 0;
}

void graphc_rt_linear_cross_entropy(const float* x, const float* w, const float* b, const int32_t* labels, float* loss,
                                    int64_t n, int64_t k, int64_t v, int32_t tw,
                                    const struct graphc_product_kernels* kernels) {
  struct layer l = {.x = x, .w = w, .b = b, .labels = labels, .n = n, .k = k, .v = v, .tw = tw, .kernels = kernels,
                    .chunk = chunk_width(n, v, kernels->panel_width)};
  const int64_t bad = graphc_rows_label_outside(labels, n, v);
  if (bad >= 0) {
    graphc_kernel_error("linear_cross_entropy label %d out of range [0, %lld)", labels[bad], (long long)v);
    return;
  }
  l.row_max = (float*)malloc((size_t)max64(n, 1) * sizeof(float));
  l.row_sum = (double*)malloc((size_t)max64(n, 1) * sizeof(double));
  l.label_logit = (float*)malloc((size_t)max64(n, 1) * sizeof(float));
  if (alloc_chunk(&l) && l.row_max && l.row_sum && l.label_logit) {
    for (l.v0 = 0; l.v0 < v; l.v0 += l.chunk) {
      l.vc = min64(l.chunk, v - l.v0);
      chunk_logits(&l);
      graphc_team_ranges(n, 16, forward_rows, &l);
    }
    for (int64_t r = 0; r < n; ++r)
      loss[r] = (float)((double)l.row_max[r] + log(l.row_sum[r]) - (double)l.label_logit[r]);
  } else {
    graphc_kernel_error("linear_cross_entropy: out of memory for a chunk of %lld logits", (long long)(n * l.chunk));
  }
  free(l.logits), free(l.row_max), free(l.row_sum), free(l.label_logit);
}

/* ---- the gradient ---- */

/* Each row's log-sum-exp again, from its loss and its label's logit. */
static void lse_rows(void* ctx, int slot, int64_t r0, int64_t r1) {
  struct layer* l = (struct layer*)ctx;
  (void)slot;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t label = l->labels[r];
    double z = l->b[label];
    for (int64_t kk = 0; kk < l->k; ++kk)
      z += (double)l->x[r * l->k + kk] * (double)(l->tw ? l->w[label * l->k + kk] : l->w[kk * l->v + label]);
    l->lse[r] = (float)((double)l->loss[r] + z);
  }
}

/* The chunk's logits become the gradient of the loss with respect to them:
 * (softmax - onehot) times the row's incoming gradient. */
static void gradient_rows(void* ctx, int slot, int64_t r0, int64_t r1) {
  struct layer* l = (struct layer*)ctx;
  (void)slot;
  for (int64_t r = r0; r < r1; ++r) {
    float* z = l->logits + r * l->vc;
    const float shift = l->lse[r], scale = l->dloss[r];
    for (int64_t j = 0; j < l->vc; ++j) z[j] = graphc_exp_non_positive(z[j] + l->b[l->v0 + j] - shift) * scale;
    const int64_t label = l->labels[r];
    if (label >= l->v0 && label < l->v0 + l->vc) z[label - l->v0] -= scale;
  }
}

static void bias_columns(void* ctx, int slot, int64_t c0, int64_t c1) {
  struct layer* l = (struct layer*)ctx;
  (void)slot;
  graphc_rows_column_sums(l->logits, l->db + l->v0, l->n, l->vc, c0, c1);
}

void graphc_rt_linear_cross_entropy_grad(const float* x, const float* w, const float* b, const int32_t* labels,
                                         const float* loss, const float* dloss, float* out, int64_t n, int64_t k,
                                         int64_t v, int32_t tw, const struct graphc_product_kernels* kernels) {
  struct layer l = {.x = x, .w = w, .b = b, .labels = labels, .n = n, .k = k, .v = v, .tw = tw, .kernels = kernels,
                    .chunk = chunk_width(n, v, kernels->panel_width), .loss = loss, .dloss = dloss,
                    .dx = out, .dw = out + n * k, .db = out + n * k + k * v};
  const int64_t bad = graphc_rows_label_outside(labels, n, v);
  if (bad >= 0) {
    graphc_kernel_error("linear_cross_entropy_grad label %d out of range [0, %lld)", labels[bad], (long long)v);
    return;
  }
  l.lse = (float*)malloc((size_t)max64(n, 1) * sizeof(float));
  if (!alloc_chunk(&l) || !l.lse) {
    graphc_kernel_error("linear_cross_entropy_grad: out of memory for a chunk of %lld logits", (long long)(n * l.chunk));
  } else {
    graphc_team_ranges(n, 16, lse_rows, &l);
    if (v == 0) memset(l.dx, 0, (size_t)(n * k) * sizeof(float));
    for (l.v0 = 0; l.v0 < v; l.v0 += l.chunk) {
      l.vc = min64(l.chunk, v - l.v0);
      chunk_logits(&l);
      graphc_team_ranges(n, 16, gradient_rows, &l);
      graphc_team_ranges(l.vc, 64, bias_columns, &l);
      /* dx (+)= g times the chunk's weights transposed */
      if (tw)
        graphc_product_strided(l.logits, l.vc, 0, w + l.v0 * k, k, 0, l.dx, k, n, k, l.vc, l.v0 > 0, kernels);
      else
        graphc_product_strided(l.logits, l.vc, 0, w + l.v0, v, 1, l.dx, k, n, k, l.vc, l.v0 > 0, kernels);
      if (tw) /* dw's rows [v0, v0 + vc) = g^T x */
        graphc_product_strided(l.logits, l.vc, 1, x, k, 0, l.dw + l.v0 * k, k, l.vc, k, n, 0, kernels);
      else /* dw's columns [v0, v0 + vc) = x^T g */
        graphc_product_strided(x, k, 1, l.logits, l.vc, 0, l.dw + l.v0, v, k, l.vc, n, 0, kernels);
    }
  }
  free(l.logits), free(l.lse);
}
