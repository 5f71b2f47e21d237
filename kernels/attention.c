/* kernels/attention.c — see attention.h. */
#include "attention.h"
#include "exp_non_positive.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16
#define KEY_BLOCK 64

/* sum a[c] b[c] in 16 float lanes (so it vectorizes), the lanes added in order. */
static float dot(const float* a, const float* b, int64_t n) {
  float lanes[LANES] = {0};
  int64_t c = 0;
  for (; c + LANES <= n; c += LANES)
    for (int l = 0; l < LANES; ++l) lanes[l] += a[c + l] * b[c + l];
  float sum = 0;
  for (; c < n; ++c) sum += a[c] * b[c];
  for (int l = 0; l < LANES; ++l) sum += lanes[l];
  return sum;
}

/* y += a x; restrict: the three updates of a backward step vectorize. */
static inline void axpy(float* restrict y, float a, const float* restrict x, int64_t n) {
  for (int64_t c = 0; c < n; ++c) y[c] += a * x[c];
}

static inline void scale_in_place(float* restrict y, float a, int64_t n) {
  for (int64_t c = 0; c < n; ++c) y[c] *= a;
}

/* p[j] = e^(p[j] - shift) for j < n, vectorized. */
static void exp_shifted(float* restrict p, float shift, int64_t n) {
  for (int64_t j = 0; j < n; ++j) p[j] = graphc_exp_non_positive(p[j] - shift);
}

/* kt[c][j] = m[j][c]: a [t, d] matrix turned [d, t], so scores of a block of
 * keys are axpys over keys (vectorized, no horizontal sums). */
static void transpose(const float* restrict m, float* restrict kt, int64_t t, int64_t d) {
  for (int64_t j = 0; j < t; ++j)
    for (int64_t c = 0; c < d; ++c) kt[c * t + j] = m[j * d + c];
}

/* s[j] = scale sum_c x[c] mt[c][j] for j in [0, n): x against n rows of m, through mt. */
static void scores(const float* restrict x, const float* restrict mt, int64_t t, int64_t d, int64_t n, float scale,
                   float* restrict s) {
  for (int64_t j = 0; j < n; ++j) s[j] = 0.0f;
  for (int64_t c = 0; c < d; ++c) axpy(s, x[c], mt + c * t, n);
  for (int64_t j = 0; j < n; ++j) s[j] *= scale;
}

int graphc_attention_forward(const float* q, const float* k, const float* v, float* out, int64_t e0, int64_t e1,
                             int64_t t, int64_t d, float scale, int32_t causal) {
  float* acc = malloc((size_t)(d + t + t * d) * sizeof(float));
  if (!acc) return -1;
  float* s = acc + d;  /* a row's scores, t of them */
  float* kt = s + t;   /* the entry's keys, transposed */
  for (int64_t e = e0; e < e1; ++e) {
    const float* qe = q + e * t * d;
    const float* ve = v + e * t * d;
    transpose(k + e * t * d, kt, t, d);
    for (int64_t i = 0; i < t; ++i) {
      const int64_t keys = causal ? i + 1 : t;
      float m = -INFINITY, l = 0.0f;
      for (int64_t c = 0; c < d; ++c) acc[c] = 0.0f;
      for (int64_t j0 = 0; j0 < keys; j0 += KEY_BLOCK) {
        const int64_t j1 = keys < j0 + KEY_BLOCK ? keys : j0 + KEY_BLOCK;
        float* sb = s + j0;
        scores(qe + i * d, kt + j0, t, d, j1 - j0, scale, sb);
        float block_max = -INFINITY;
        for (int64_t j = 0; j < j1 - j0; ++j) block_max = block_max < sb[j] ? sb[j] : block_max;
        /* The running max grows: what was summed so far is rescaled to it. */
        const float m_new = m < block_max ? block_max : m;
        const float shrink = graphc_exp_non_positive(m - m_new);
        l *= shrink;
        scale_in_place(acc, shrink, d);
        exp_shifted(sb, m_new, j1 - j0);
        for (int64_t j = j0; j < j1; ++j) {
          l += s[j];
          axpy(acc, s[j], ve + j * d, d);
        }
        m = m_new;
      }
      float* row = out + (e * t + i) * (d + 1);
      for (int64_t c = 0; c < d; ++c) row[c] = acc[c] / l;
      row[d] = m + logf(l);
    }
  }
  free(acc);
  return 0;
}

int graphc_attention_backward(const float* q, const float* k, const float* v, const float* y, const float* dy,
                              float* grads, int64_t entries, int64_t e0, int64_t e1, int64_t t, int64_t d,
                              float scale, int32_t causal) {
  const int64_t block = entries * t * d;
  float* p = malloc((size_t)(2 * t + 2 * t * d) * sizeof(float));
  if (!p) return -1;
  float* ds = p + t;   /* a row's weights, then its score gradients */
  float* kt = ds + t;  /* the entry's keys and values, transposed */
  float* vt = kt + t * d;
  for (int64_t e = e0; e < e1; ++e) {
    const float* qe = q + e * t * d;
    const float* ke = k + e * t * d;
    const float* ye = y + e * t * (d + 1);
    const float* dye = dy + e * t * (d + 1);
    float* dq = grads + e * t * d;
    float* dk = grads + block + e * t * d;
    float* dv = grads + 2 * block + e * t * d;
    transpose(ke, kt, t, d);
    transpose(v + e * t * d, vt, t, d);
    memset(dq, 0, (size_t)(t * d) * sizeof(float));
    memset(dk, 0, (size_t)(t * d) * sizeof(float));
    memset(dv, 0, (size_t)(t * d) * sizeof(float));
    for (int64_t i = 0; i < t; ++i) {
      const float* qi = qe + i * d;
      const float* dyi = dye + i * (d + 1);
      /* sum_j p_ij dp_ij = dy_i . y_i, less the logsumexp's own gradient (d lse_i / d s_ij = p_ij) */
      const float delta = dot(dyi, ye + i * (d + 1), d) - dyi[d];
      const int64_t keys = causal ? i + 1 : t;
      scores(qi, kt, t, d, keys, scale, p);
      exp_shifted(p, ye[i * (d + 1) + d], keys); /* the weights again, from the saved logsumexp */
      scores(dyi, vt, t, d, keys, 1.0f, ds);       /* dp_ij = dy_i . v_j */
      for (int64_t j = 0; j < keys; ++j) ds[j] = p[j] * (ds[j] - delta) * scale;
      for (int64_t j = 0; j < keys; ++j) {
        axpy(dv + j * d, p[j], dyi, d);
        axpy(dq + i * d, ds[j], ke + j * d, d);
        axpy(dk + j * d, ds[j], qi, d);
      }
    }
  }
  free(p);
  return 0;
}
