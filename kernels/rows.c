/* kernels/rows.c — see rows.h. */
#include "rows.h"
#include "exp_non_positive.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16
#define SUM_BLOCK 256

/* The largest of x[0..n), after adding b[0..n) to x when b is given, in 16 lanes. A maximum is one
 * value in any order, so the lanes change nothing but speed. Inlined with `b` constant or not. */
static inline float lanes_max(float* x, const float* b, int64_t n) {
  float lanes[LANES];
  for (int l = 0; l < LANES; ++l) lanes[l] = -INFINITY;
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; ++l) {
      if (b) x[i + l] += b[i + l];
      lanes[l] = lanes[l] < x[i + l] ? x[i + l] : lanes[l];
    }
  float mx = -INFINITY;
  for (; i < n; ++i) {
    if (b) x[i] += b[i];
    mx = mx < x[i] ? x[i] : mx;
  }
  for (int l = 0; l < LANES; ++l) mx = mx < lanes[l] ? lanes[l] : mx;
  return mx;
}

float graphc_rows_max(const float* x, int64_t n) { return lanes_max((float*)x, 0, n); }

float graphc_rows_add_max(float* x, const float* b, int64_t n) { return lanes_max(x, b, n); }

/* reduce_sum's order over all of x (or of its squares): 256-element blocks of 16 float lanes, the
 * blocks added in double. Inlined with `squares` constant, each caller gets its own loop. */
static inline double blocked_sum(const float* x, int64_t n, int squares) {
  double total = 0;
  for (int64_t b0 = 0; b0 < n; b0 += SUM_BLOCK) {
    int64_t b1 = n < b0 + SUM_BLOCK ? n : b0 + SUM_BLOCK;
    float lanes[LANES] = {0};
    int64_t i = b0;
    for (; i + LANES <= b1; i += LANES)
      for (int l = 0; l < LANES; ++l) lanes[l] += squares ? x[i + l] * x[i + l] : x[i + l];
    double block = 0;
    for (; i < b1; ++i) block += squares ? (double)x[i] * x[i] : x[i];
    for (int l = 0; l < LANES; ++l) block += lanes[l];
    total += block;
  }
  return total;
}

double graphc_rows_sum(const float* x, int64_t n) { return blocked_sum(x, n, 0); }

double graphc_rows_sum_squares(const float* x, int64_t n) { return blocked_sum(x, n, 1); }

double graphc_rows_sum_double(const float* x, int64_t n) {
  double lanes[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; ++l) lanes[l] += (double)x[i + l];
  double sum = 0;
  for (; i < n; ++i) sum += (double)x[i];
  for (int l = 0; l < LANES; ++l) sum += lanes[l];
  return sum;
}

/* sum_c e^(x[c] - shift) in 16 double lanes, each term also written over x[c] when `store`. Inlined
 * with `store` constant: the sum and the sum that keeps its terms add in one order. */
static inline double exp_shifted_sum(float* x, int64_t n, float shift, int store) {
  double lanes[LANES] = {0};
  int64_t c = 0;
  for (; c + LANES <= n; c += LANES)
    for (int l = 0; l < LANES; ++l) {
      const float e = graphc_exp_non_positive(x[c + l] - shift);
      if (store) x[c + l] = e;
      lanes[l] += (double)e;
    }
  double sum = 0;
  for (; c < n; ++c) {
    const float e = graphc_exp_non_positive(x[c] - shift);
    if (store) x[c] = e;
    sum += (double)e;
  }
  for (int l = 0; l < LANES; ++l) sum += lanes[l];
  return sum;
}

double graphc_rows_sum_exp_shifted(const float* x, int64_t n, float shift) {
  return exp_shifted_sum((float*)x, n, shift, 0);
}

double graphc_rows_exp_shifted_sum(float* x, int64_t n, float shift) { return exp_shifted_sum(x, n, shift, 1); }

void graphc_rows_log_softmax(const float* in, float* out, int64_t r0, int64_t r1, int64_t width) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* x = in + r * width;
    float mx = graphc_rows_max(x, width);
    /* (x - max) - log(sum): the shifted logit is exact, so the largest one's
     * log-probability keeps its few ulps instead of vanishing into max's. */
    float log_sum = (float)log(graphc_rows_sum_exp_shifted(x, width, mx));
    for (int64_t c = 0; c < width; ++c) out[r * width + c] = (x[c] - mx) - log_sum;
  }
}

int64_t graphc_rows_softmax_cross_entropy(const float* logits, const int32_t* labels, float* out, int64_t r0, int64_t r1,
                                          int64_t width) {
  int64_t bad = -1;
  for (int64_t r = r0; r < r1; ++r) {
    const float* x = logits + r * width;
    int64_t label = labels[r];
    if (label < 0 || label >= width) {
      if (bad < 0) bad = r;
      out[r] = NAN;
      continue;
    }
    float mx = graphc_rows_max(x, width);
    out[r] = (float)((double)mx + log(graphc_rows_sum_exp_shifted(x, width, mx)) - (double)x[label]);
  }
  return bad;
}

int64_t graphc_rows_label_outside(const int32_t* labels, int64_t n, int64_t v) {
  for (int64_t r = 0; r < n; ++r)
    if (labels[r] < 0 || labels[r] >= v) return r;
  return -1;
}

void graphc_rows_column_sums(const float* x, float* y, int64_t rows, int64_t cols, int64_t c0, int64_t c1) {
  enum { CHUNK = 64 };
  for (int64_t a = c0; a < c1; a += CHUNK) {
    int64_t b = c1 < a + CHUNK ? c1 : a + CHUNK;
    double acc[CHUNK] = {0};
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = a; c < b; ++c) acc[c - a] += x[r * cols + c];
    for (int64_t c = a; c < b; ++c) y[c] = (float)acc[c - a];
  }
}

int graphc_rows_leading_sum(const int64_t* desc, int64_t* rows, int64_t* cols) {
  int64_t kind = desc[0], is_int = desc[1], rank = desc[2];
  const int64_t* dims = desc + 3;
  const int64_t* reduced = desc + 3 + rank;
  int64_t lead = 0;
  while (lead < rank && reduced[lead]) ++lead;
  for (int64_t d = lead; d < rank; ++d)
    if (reduced[d]) return 0;
  if (kind != 0 || is_int || lead == 0) return 0;
  *rows = 1;
  *cols = 1;
  for (int64_t d = 0; d < lead; ++d) *rows *= dims[d];
  for (int64_t d = lead; d < rank; ++d) *cols *= dims[d];
  return 1;
}

int graphc_rows_reduce(const void* in, void* out, const int64_t* desc) {
  int64_t kind = desc[0], is_int = desc[1], rank = desc[2];
  const int64_t* dims = desc + 3;
  const int64_t* reduced = desc + 3 + rank;
  int64_t rows, cols;
  if (graphc_rows_leading_sum(desc, &rows, &cols)) {
    if (cols == 1 && rank > 0 && reduced[rank - 1]) {
      ((float*)out)[0] = (float)graphc_rows_sum((const float*)in, rows);
      return 0;
    }
    graphc_rows_column_sums((const float*)in, (float*)out, rows, cols, 0, cols);
    return 0;
  }
  /* Trailing axes reduced, leading kept (a layer norm's row means): each row
   * on its own, summed in 16 double lanes. */
  int64_t kept = 0;
  while (kept < rank && !reduced[kept]) ++kept;
  int trailing = kept < rank;
  for (int64_t d = kept; d < rank; ++d) trailing &= reduced[d] != 0;
  if (trailing && !is_int) {
    int64_t n_rows = 1, n_cols = 1;
    for (int64_t d = 0; d < kept; ++d) n_rows *= dims[d];
    for (int64_t d = kept; d < rank; ++d) n_cols *= dims[d];
    int64_t n_in = n_rows * n_cols;
    double scale = kind == 1 ? (double)n_rows / (double)(n_in > 1 ? n_in : 1) : 1.0; /* as below */
    for (int64_t r = 0; r < n_rows; ++r) {
      const float* x = (const float*)in + r * n_cols;
      double a = kind == 2 ? -INFINITY : 0.0;
      if (kind == 2) {
        for (int64_t c = 0; c < n_cols; ++c) {
          double v = (double)x[c];
          a = (isnan(v) || v > a) ? v : a;
        }
      } else {
        a = graphc_rows_sum_double(x, n_cols);
      }
      ((float*)out)[r] = (float)(a * scale);
    }
    return 0;
  }
  /* Output strides over the kept dimensions, 0 for reduced ones. */
  int64_t strides[16], idx[16], out_count = 1, in_count = 1;
  for (int64_t d = rank - 1; d >= 0; --d) {
    strides[d] = reduced[d] ? 0 : out_count;
    if (!reduced[d]) out_count *= dims[d];
    in_count *= dims[d];
    idx[d] = 0;
  }
  double* acc = malloc((size_t)(out_count > 0 ? out_count : 1) * sizeof(double));
  if (!acc) return -1;
  for (int64_t j = 0; j < out_count; ++j) acc[j] = kind == 2 ? -INFINITY : 0.0;
  int64_t off = 0;
  for (int64_t i = 0; i < in_count; ++i) {
    double v = is_int ? (double)((const int32_t*)in)[i] : (double)((const float*)in)[i];
    if (kind == 2) acc[off] = (isnan(v) || v > acc[off]) ? v : acc[off];
    else acc[off] += v;
    for (int64_t d = rank - 1; d >= 0; --d) {
      off += strides[d];
      if (++idx[d] < dims[d]) break;
      off -= strides[d] * dims[d];
      idx[d] = 0;
    }
  }
  double scale = kind == 1 ? (double)out_count / (double)(in_count > 1 ? in_count : 1) : 1.0;
  for (int64_t j = 0; j < out_count; ++j) {
    if (is_int) ((int32_t*)out)[j] = (int32_t)(acc[j] * scale);
    else ((float*)out)[j] = (float)(acc[j] * scale);
  }
  free(acc);
  return 0;
}

void graphc_rows_argmax(const void* in, int32_t* out, int64_t outer, int64_t len, int64_t inner, int32_t is_int) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t r = 0; r < inner; ++r) {
      int64_t best = 0;
      for (int64_t k = 1; k < len; ++k) {
        int64_t at = (o * len + k) * inner + r, at_best = (o * len + best) * inner + r;
        double v = is_int ? (double)((const int32_t*)in)[at] : (double)((const float*)in)[at];
        double vb = is_int ? (double)((const int32_t*)in)[at_best] : (double)((const float*)in)[at_best];
        if (v > vb) best = k;
      }
      out[o * inner + r] = (int32_t)best;
    }
}
