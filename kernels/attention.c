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

/* Queries per block: each row of keys, values and their gradients is read (or updated) once for the
 * block's queries instead of once per query. */
#define QUERIES 4

/* s[r][j] = scale sum_c x[r][c] mt[c][j] for the block's rows r and j in [0, n): each row of mt read once
 * for all of them. */
static void block_scores(const float* const x[QUERIES], const float* restrict mt, int64_t t, int64_t d, int64_t n,
                         float scale, float* const s[QUERIES]) {
  float *restrict s0 = s[0], *restrict s1 = s[1], *restrict s2 = s[2], *restrict s3 = s[3];
  for (int64_t j = 0; j < n; ++j) s0[j] = s1[j] = s2[j] = s3[j] = 0.0f;
  for (int64_t c = 0; c < d; ++c) {
    const float* restrict m = mt + c * t;
    const float a0 = x[0][c], a1 = x[1][c], a2 = x[2][c], a3 = x[3][c];
    for (int64_t j = 0; j < n; ++j) {
      const float mj = m[j];
      s0[j] += a0 * mj, s1[j] += a1 * mj, s2[j] += a2 * mj, s3[j] += a3 * mj;
    }
  }
  for (int64_t j = 0; j < n; ++j) s0[j] *= scale, s1[j] *= scale, s2[j] *= scale, s3[j] *= scale;
}

/* y[c] += sum_r a[r] x[r][c]: one update of y for the block's rows. */
static inline void block_axpy(float* restrict y, const float a[QUERIES], const float* const x[QUERIES], int64_t n) {
  const float *restrict x0 = x[0], *restrict x1 = x[1], *restrict x2 = x[2], *restrict x3 = x[3];
  for (int64_t c = 0; c < n; ++c) y[c] += a[0] * x0[c] + a[1] * x1[c] + a[2] * x2[c] + a[3] * x3[c];
}

/* The keys query i sees. */
static int64_t keys_of(int64_t i, int64_t t, int32_t causal) { return causal ? i + 1 : t; }

int graphc_attention_forward(const float* q, const float* k, const float* v, float* out, int64_t e0, int64_t e1,
                             int64_t t, int64_t d, float scale, int32_t causal) {
  /* per query of a block: its output so far (d) and its scores (t); then the keys transposed, and a zero
   * row for the places of a last block's missing queries (their outputs are not written) */
  float* scratch = malloc((size_t)(QUERIES * (d + t) + t * d + d) * sizeof(float));
  if (!scratch) return -1;
  float *acc[QUERIES], *s[QUERIES];
  for (int r = 0; r < QUERIES; ++r) acc[r] = scratch + r * (d + t), s[r] = acc[r] + d;
  float* kt = scratch + QUERIES * (d + t);
  float* zero = kt + t * d;
  for (int64_t c = 0; c < d; ++c) zero[c] = 0.0f;
  for (int64_t e = e0; e < e1; ++e) {
    const float* qe = q + e * t * d;
    const float* ve = v + e * t * d;
    transpose(k + e * t * d, kt, t, d);
    for (int64_t i0 = 0; i0 < t; i0 += QUERIES) {
      const int64_t rows = t - i0 < QUERIES ? t - i0 : QUERIES;
      const float* qr[QUERIES];
      int64_t keys[QUERIES];
      float m[QUERIES], l[QUERIES];
      for (int r = 0; r < QUERIES; ++r) {
        qr[r] = r < rows ? qe + (i0 + r) * d : zero;
        keys[r] = r < rows ? keys_of(i0 + r, t, causal) : 1;
        m[r] = -INFINITY, l[r] = 0.0f;
        for (int64_t c = 0; c < d; ++c) acc[r][c] = 0.0f;
      }
      const int64_t block_keys = keys_of(i0 + rows - 1, t, causal);
      for (int64_t j0 = 0; j0 < block_keys; j0 += KEY_BLOCK) {
        const int64_t j1 = block_keys < j0 + KEY_BLOCK ? block_keys : j0 + KEY_BLOCK, n = j1 - j0;
        float* sb[QUERIES];
        for (int r = 0; r < QUERIES; ++r) sb[r] = s[r] + j0;
        block_scores(qr, kt + j0, t, d, n, scale, sb);
        for (int r = 0; r < QUERIES; ++r) {
          const int64_t seen = keys[r] - j0 < n ? (keys[r] - j0 > 0 ? keys[r] - j0 : 0) : n;
          for (int64_t j = seen; j < n; ++j) sb[r][j] = -INFINITY; /* weighs exactly 0 below */
          float block_max = -INFINITY;
          for (int64_t j = 0; j < seen; ++j) block_max = block_max < sb[r][j] ? sb[r][j] : block_max;
          /* The running max grows: what was summed so far is rescaled to it. Key 0 is in every query's
           * first block, so m is finite from then on. */
          const float m_new = m[r] < block_max ? block_max : m[r];
          const float shrink = graphc_exp_non_positive(m[r] - m_new);
          l[r] *= shrink;
          scale_in_place(acc[r], shrink, d);
          exp_shifted(sb[r], m_new, n);
          for (int64_t j = 0; j < seen; ++j) l[r] += sb[r][j];
          m[r] = m_new;
        }
        for (int64_t j = j0; j < j1; ++j) {
          const float* vj = ve + j * d;
          const float w0 = s[0][j], w1 = s[1][j], w2 = s[2][j], w3 = s[3][j];
          float *restrict a0 = acc[0], *restrict a1 = acc[1], *restrict a2 = acc[2], *restrict a3 = acc[3];
          for (int64_t c = 0; c < d; ++c) {
            const float x = vj[c];
            a0[c] += w0 * x, a1[c] += w1 * x, a2[c] += w2 * x, a3[c] += w3 * x;
          }
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        float* row = out + (e * t + i0 + r) * (d + 1);
        for (int64_t c = 0; c < d; ++c) row[c] = acc[r][c] / l[r];
        row[d] = m[r] + logf(l[r]);
      }
    }
  }
  free(scratch);
  return 0;
}

int graphc_attention_backward(const float* q, const float* k, const float* v, const float* y, const float* dy,
                              float* grads, int64_t entries, int64_t e0, int64_t e1, int64_t t, int64_t d,
                              float scale, int32_t causal) {
  const int64_t block = entries * t * d;
  /* per query of a block: its weights (t) and score gradients (t); the keys and values transposed; a zero
   * row and a discarded dq for a last block's missing queries */
  float* scratch = malloc((size_t)(2 * QUERIES * t + 2 * t * d + 2 * d) * sizeof(float));
  if (!scratch) return -1;
  float *p[QUERIES], *ds[QUERIES];
  for (int r = 0; r < QUERIES; ++r) p[r] = scratch + 2 * r * t, ds[r] = p[r] + t;
  float* kt = scratch + 2 * QUERIES * t;
  float* vt = kt + t * d;
  float* zero = vt + t * d;
  float* discarded = zero + d;
  for (int64_t c = 0; c < d; ++c) zero[c] = 0.0f;
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
    for (int64_t i0 = 0; i0 < t; i0 += QUERIES) {
      const int64_t rows = t - i0 < QUERIES ? t - i0 : QUERIES;
      const int64_t n = keys_of(i0 + rows - 1, t, causal);
      const float *qr[QUERIES], *dyr[QUERIES];
      float* dqr[QUERIES];
      for (int r = 0; r < QUERIES; ++r) {
        qr[r] = r < rows ? qe + (i0 + r) * d : zero;
        dyr[r] = r < rows ? dye + (i0 + r) * (d + 1) : zero;
        dqr[r] = r < rows ? dq + (i0 + r) * d : discarded;
      }
      block_scores(qr, kt, t, d, n, scale, p);
      block_scores(dyr, vt, t, d, n, 1.0f, ds); /* dp_ij = dy_i . v_j */
      for (int r = 0; r < QUERIES; ++r) {
        const int64_t seen = r < rows ? keys_of(i0 + r, t, causal) : 0;
        if (seen > 0) {
          /* sum_j p_ij dp_ij = dy_i . y_i, less the logsumexp's own gradient (d lse_i / d s_ij = p_ij) */
          const float* yi = ye + (i0 + r) * (d + 1);
          const float delta = dot(dyr[r], yi, d) - dyr[r][d];
          exp_shifted(p[r], yi[d], seen); /* the weights again, from the saved logsumexp */
          for (int64_t j = 0; j < seen; ++j) ds[r][j] = p[r][j] * (ds[r][j] - delta) * scale;
        }
        for (int64_t j = seen; j < n; ++j) p[r][j] = ds[r][j] = 0.0f; /* keys it does not see, rows it lacks */
      }
      for (int64_t j = 0; j < n; ++j) {
        const float pj[QUERIES] = {p[0][j], p[1][j], p[2][j], p[3][j]};
        const float dsj[QUERIES] = {ds[0][j], ds[1][j], ds[2][j], ds[3][j]};
        block_axpy(dv + j * d, pj, dyr, d);
        block_axpy(dk + j * d, dsj, qr, d);
        const float* kj = ke + j * d;
        for (int r = 0; r < QUERIES; ++r) axpy(dqr[r], dsj[r], kj, d);
      }
    }
  }
  free(scratch);
  return 0;
}
