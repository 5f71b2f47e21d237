/* kernels/attention.c — see attention.h. */
#include "attention.h"
#include "exp_non_positive.h"
#include "product.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Float lanes of a vector: a zmm where the compiler targets AVX-512, else a ymm (the bitcode of
 * generation programs is compiled before its target is known, and so takes 8). */
#ifdef __AVX512F__
#define LANES 16
#else
#define LANES 8
#endif
/* Vectors per query in a register tile: QUERIES x SCORE_VECTORS accumulators for the scores and
 * the outputs (16 of AVX-512's 32 registers, 8 of AVX2's 16), and three sets of QUERIES x
 * GRADIENT_VECTORS in the backward pass's (24, 12). */
#if LANES == 16
#define SCORE_VECTORS 4
#define GRADIENT_VECTORS 2
#else
#define SCORE_VECTORS 2
#define GRADIENT_VECTORS 1
#endif
#define KEY_BLOCK 64
/* Queries per block: each row of keys, values and their gradients is read (or updated) once for the
 * block's queries instead of once per query. */
#define QUERIES 4

typedef float vec __attribute__((vector_size(LANES * sizeof(float))));
typedef float vec_unaligned __attribute__((vector_size(LANES * sizeof(float)), aligned(4)));

/* Macros, not functions: a vector argument or result has no ABI where the generation programs' bitcode
 * is compiled (no AVX assumed). */
#define LOAD(p) (*(const vec_unaligned*)(p))
#define STORE(p, x) (*(vec_unaligned*)(p) = (x))
#define SPLAT(a) ((vec){0} + (a))

#define ALWAYS_INLINE static inline __attribute__((always_inline))

static int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

/* sum a[c] b[c] in 16 float lanes (so it vectorizes), the lanes added in order. */
static float dot(const float* a, const float* b, int64_t n) {
  float lanes[16] = {0};
  int64_t c = 0;
  for (; c + 16 <= n; c += 16)
    for (int l = 0; l < 16; ++l) lanes[l] += a[c + l] * b[c + l];
  float sum = 0;
  for (; c < n; ++c) sum += a[c] * b[c];
  for (int l = 0; l < 16; ++l) sum += lanes[l];
  return sum;
}

/* The largest of s[0..n), -inf for none; lane by lane (a maximum is exact in any order), as a chain
 * of compares one element at a time cost more than the block's scores. */
static float largest(const float* s, int64_t n) {
  float lanes[16];
  for (int l = 0; l < 16; ++l) lanes[l] = -INFINITY;
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int l = 0; l < 16; ++l) lanes[l] = lanes[l] < s[j + l] ? s[j + l] : lanes[l];
  for (; j < n; ++j) lanes[0] = lanes[0] < s[j] ? s[j] : lanes[0];
  float largest = -INFINITY;
  for (int l = 0; l < 16; ++l) largest = largest < lanes[l] ? lanes[l] : largest;
  return largest;
}

/* sum s[0..n) in 16 float lanes, the lanes added in order (a chain of adds one element at a time
 * waits on each add). */
static float lane_sum(const float* s, int64_t n) {
  float lanes[16] = {0};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int l = 0; l < 16; ++l) lanes[l] += s[j + l];
  float sum = 0;
  for (; j < n; ++j) sum += s[j];
  for (int l = 0; l < 16; ++l) sum += lanes[l];
  return sum;
}

static inline void scale_in_place(float* restrict y, float a, int64_t n) {
  for (int64_t c = 0; c < n; ++c) y[c] *= a;
}

/* p[j] = e^(p[j] - shift) for j < n, vectorized. */
static void exp_shifted(float* restrict p, float shift, int64_t n) {
  for (int64_t j = 0; j < n; ++j) p[j] = graphc_exp_non_positive(p[j] - shift);
}

/* out's rows (ld floats apart, zero from d on) = m's t rows of d floats (ldm apart): rows a vector can
 * be loaded from at any multiple of LANES. */
static void pad_rows(const float* restrict m, int64_t ldm, float* restrict out, int64_t t, int64_t d, int64_t ld) {
  for (int64_t j = 0; j < t; ++j) {
    memcpy(out + j * ld, m + j * ldm, (size_t)d * sizeof(float));
    for (int64_t c = d; c < ld; ++c) out[j * ld + c] = 0.0f;
  }
}

/* s[r][j] = scale sum_c x[r][c] mt[c][j] (mt's rows ld apart) for j in [j0, j0 + vectors LANES): the
 * scores of one chunk of keys in registers, summed over c in order. */
ALWAYS_INLINE void score_tile(const float* const x[QUERIES], const float* mt, int64_t ld, int64_t d, int64_t j0,
                              float scale, float* const s[QUERIES], const int vectors) {
  vec acc[QUERIES][SCORE_VECTORS];
  for (int r = 0; r < QUERIES; ++r)
    for (int v = 0; v < vectors; ++v) acc[r][v] = (vec){0};
  for (int64_t c = 0; c < d; ++c) {
    vec m[SCORE_VECTORS];
    for (int v = 0; v < vectors; ++v) m[v] = LOAD(mt + c * ld + j0 + v * LANES);
    for (int r = 0; r < QUERIES; ++r) {
      const vec a = SPLAT(x[r][c]);
      for (int v = 0; v < vectors; ++v) acc[r][v] += a * m[v];
    }
  }
  for (int r = 0; r < QUERIES; ++r)
    for (int v = 0; v < vectors; ++v) STORE(s[r] + j0 + v * LANES, acc[r][v] * scale);
}

/* The scores of the block's queries (x, d floats each) against keys [0, n), mt the keys transposed
 * (rows ld floats apart, ld a multiple of LANES): s[r][j] for j up to n rounded up to LANES. */
static void block_scores(const float* const x[QUERIES], const float* mt, int64_t ld, int64_t d, int64_t n,
                         float scale, float* const s[QUERIES]) {
  int64_t j0 = 0;
  for (; j0 + SCORE_VECTORS * LANES <= n; j0 += SCORE_VECTORS * LANES)
    score_tile(x, mt, ld, d, j0, scale, s, SCORE_VECTORS);
  for (; j0 < n; j0 += LANES) score_tile(x, mt, ld, d, j0, scale, s, 1);
}

/* acc[r][c] += sum_j w[r][j] vp[j][c] over keys [j0, j1), for c in [c0, c0 + vectors LANES): the outputs'
 * columns in registers over the keys, each value row read once for the block's queries. */
ALWAYS_INLINE void value_tile(float* const acc[QUERIES], const float* const w[QUERIES], const float* vp, int64_t ld,
                              int64_t j0, int64_t j1, int64_t c0, const int vectors) {
  vec a[QUERIES][SCORE_VECTORS];
  for (int r = 0; r < QUERIES; ++r)
    for (int v = 0; v < vectors; ++v) a[r][v] = LOAD(acc[r] + c0 + v * LANES);
  for (int64_t j = j0; j < j1; ++j) {
    vec x[SCORE_VECTORS];
    for (int v = 0; v < vectors; ++v) x[v] = LOAD(vp + j * ld + c0 + v * LANES);
    for (int r = 0; r < QUERIES; ++r) {
      const vec wr = SPLAT(w[r][j]);
      for (int v = 0; v < vectors; ++v) a[r][v] += wr * x[v];
    }
  }
  for (int r = 0; r < QUERIES; ++r)
    for (int v = 0; v < vectors; ++v) STORE(acc[r] + c0 + v * LANES, a[r][v]);
}

/* The block's outputs so far (acc, ld floats each) plus the weighted values of keys [j0, j1). */
static void block_values(float* const acc[QUERIES], const float* const w[QUERIES], const float* vp, int64_t ld,
                         int64_t j0, int64_t j1) {
  int64_t c0 = 0;
  for (; c0 + SCORE_VECTORS * LANES <= ld; c0 += SCORE_VECTORS * LANES)
    value_tile(acc, w, vp, ld, j0, j1, c0, SCORE_VECTORS);
  for (; c0 < ld; c0 += LANES) value_tile(acc, w, vp, ld, j0, j1, c0, 1);
}

/* For keys j < n and columns [c0, c0 + vectors LANES) of rows ld floats apart:
 *   dv[j] += sum_r p[r][j] dy[r],  dk[j] += sum_r ds[r][j] q[r],  dq[r] += sum_j ds[r][j] k[j]
 * with the block's dy, q and dq in registers, each key's rows read (and its gradients' updated) once. */
ALWAYS_INLINE void gradient_tile(const float* const p[QUERIES], const float* const ds[QUERIES],
                                 const float* const q[QUERIES], const float* const dy[QUERIES],
                                 float* const dq[QUERIES], const float* kp, float* dkp, float* dvp, int64_t ld,
                                 int64_t n, int64_t c0, const int vectors) {
  vec dyr[QUERIES][GRADIENT_VECTORS], qr[QUERIES][GRADIENT_VECTORS], dqr[QUERIES][GRADIENT_VECTORS];
  for (int r = 0; r < QUERIES; ++r)
    for (int v = 0; v < vectors; ++v) {
      dyr[r][v] = LOAD(dy[r] + c0 + v * LANES);
      qr[r][v] = LOAD(q[r] + c0 + v * LANES);
      dqr[r][v] = LOAD(dq[r] + c0 + v * LANES);
    }
  for (int64_t j = 0; j < n; ++j) {
    const vec p0 = SPLAT(p[0][j]), p1 = SPLAT(p[1][j]), p2 = SPLAT(p[2][j]), p3 = SPLAT(p[3][j]);
    const vec s0 = SPLAT(ds[0][j]), s1 = SPLAT(ds[1][j]), s2 = SPLAT(ds[2][j]), s3 = SPLAT(ds[3][j]);
    for (int v = 0; v < vectors; ++v) {
      const int64_t at = j * ld + c0 + v * LANES;
      STORE(dvp + at, LOAD(dvp + at) + (p0 * dyr[0][v] + p1 * dyr[1][v] + p2 * dyr[2][v] + p3 * dyr[3][v]));
      STORE(dkp + at, LOAD(dkp + at) + (s0 * qr[0][v] + s1 * qr[1][v] + s2 * qr[2][v] + s3 * qr[3][v]));
      const vec kj = LOAD(kp + at);
      dqr[0][v] += s0 * kj, dqr[1][v] += s1 * kj, dqr[2][v] += s2 * kj, dqr[3][v] += s3 * kj;
    }
  }
  for (int r = 0; r < QUERIES; ++r)
    for (int v = 0; v < vectors; ++v) STORE(dq[r] + c0 + v * LANES, dqr[r][v]);
}

static void block_gradients(const float* const p[QUERIES], const float* const ds[QUERIES],
                            const float* const q[QUERIES], const float* const dy[QUERIES], float* const dq[QUERIES],
                            const float* kp, float* dkp, float* dvp, int64_t ld, int64_t n) {
  int64_t c0 = 0;
  for (; c0 + GRADIENT_VECTORS * LANES <= ld; c0 += GRADIENT_VECTORS * LANES)
    gradient_tile(p, ds, q, dy, dq, kp, dkp, dvp, ld, n, c0, GRADIENT_VECTORS);
  for (; c0 < ld; c0 += LANES) gradient_tile(p, ds, q, dy, dq, kp, dkp, dvp, ld, n, c0, 1);
}

/* The keys query i sees. */
static int64_t keys_of(int64_t i, int64_t t, int32_t causal) { return causal ? i + 1 : t; }

int graphc_attention_forward(const float* q, const float* k, const float* v, float* out, int64_t e0, int64_t e1,
                             int64_t t, int64_t d, float scale, int32_t causal) {
  /* rows padded to whole vectors: keys (tp, the keys transposed) and value columns (dp) */
  const int64_t tp = round_up(t, LANES), dp = round_up(d, LANES);
  /* per query of a block: its output so far (dp) and its scores (tp); the keys transposed, the values
   * padded, and a zero row for the places of a last block's missing queries (their outputs are not written) */
  float* scratch = malloc((size_t)(QUERIES * (dp + tp) + d * tp + t * dp + d) * sizeof(float));
  if (!scratch) return -1;
  float *acc[QUERIES], *s[QUERIES];
  for (int r = 0; r < QUERIES; ++r) acc[r] = scratch + r * (dp + tp), s[r] = acc[r] + dp;
  float* kt = scratch + QUERIES * (dp + tp);
  float* vp = kt + d * tp;
  float* zero = vp + t * dp;
  for (int64_t c = 0; c < d; ++c) zero[c] = 0.0f;
  for (int64_t e = e0; e < e1; ++e) {
    const float* qe = q + e * t * d;
    graphc_transpose_rows(k + e * t * d, d, t, d, kt, tp); /* [d, tp]: a chunk of keys is a vector per row */
    pad_rows(v + e * t * d, d, vp, t, d, dp);
    for (int64_t i0 = 0; i0 < t; i0 += QUERIES) {
      const int64_t rows = t - i0 < QUERIES ? t - i0 : QUERIES;
      const float* qr[QUERIES];
      int64_t keys[QUERIES];
      float m[QUERIES], l[QUERIES];
      for (int r = 0; r < QUERIES; ++r) {
        qr[r] = r < rows ? qe + (i0 + r) * d : zero;
        keys[r] = r < rows ? keys_of(i0 + r, t, causal) : 1;
        m[r] = -INFINITY, l[r] = 0.0f;
        for (int64_t c = 0; c < dp; ++c) acc[r][c] = 0.0f;
      }
      const int64_t block_keys = keys_of(i0 + rows - 1, t, causal);
      for (int64_t j0 = 0; j0 < block_keys; j0 += KEY_BLOCK) {
        const int64_t j1 = block_keys < j0 + KEY_BLOCK ? block_keys : j0 + KEY_BLOCK, n = j1 - j0;
        float* sb[QUERIES];
        for (int r = 0; r < QUERIES; ++r) sb[r] = s[r] + j0;
        block_scores(qr, kt + j0, tp, d, n, scale, sb);
        for (int r = 0; r < QUERIES; ++r) {
          const int64_t seen = keys[r] - j0 < n ? (keys[r] - j0 > 0 ? keys[r] - j0 : 0) : n;
          for (int64_t j = seen; j < n; ++j) sb[r][j] = -INFINITY; /* weighs exactly 0 below */
          const float block_max = largest(sb[r], seen);
          /* The running max grows: what was summed so far is rescaled to it. Key 0 is in every query's
           * first block, so m is finite from then on. */
          const float m_new = m[r] < block_max ? block_max : m[r];
          const float shrink = graphc_exp_non_positive(m[r] - m_new);
          l[r] *= shrink;
          scale_in_place(acc[r], shrink, dp);
          exp_shifted(sb[r], m_new, n);
          l[r] += lane_sum(sb[r], seen);
          m[r] = m_new;
        }
        const float* w[QUERIES] = {s[0], s[1], s[2], s[3]};
        block_values(acc, w, vp, dp, j0, j1);
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
  const int64_t tp = round_up(t, LANES), dp = round_up(d, LANES);
  /* per query of a block: its weights and score gradients (tp each); the keys and values transposed; q,
   * k, dy and the three gradients in rows padded to dp; a zero row (and its discarded dq) for a last
   * block's missing queries */
  float* scratch = malloc((size_t)(2 * QUERIES * tp + 2 * d * tp + 6 * t * dp + 2 * dp) * sizeof(float));
  if (!scratch) return -1;
  float *p[QUERIES], *ds[QUERIES];
  for (int r = 0; r < QUERIES; ++r) p[r] = scratch + 2 * r * tp, ds[r] = p[r] + tp;
  float* kt = scratch + 2 * QUERIES * tp;
  float* vt = kt + d * tp;
  float* qp = vt + d * tp;
  float* kp = qp + t * dp;
  float* dyp = kp + t * dp;
  float* dqp = dyp + t * dp;
  float* dkp = dqp + t * dp;
  float* dvp = dkp + t * dp;
  float* zero = dvp + t * dp;
  float* discarded = zero + dp;
  for (int64_t c = 0; c < dp; ++c) zero[c] = 0.0f;
  for (int64_t e = e0; e < e1; ++e) {
    const float* qe = q + e * t * d;
    const float* ke = k + e * t * d;
    const float* ye = y + e * t * (d + 1);
    const float* dye = dy + e * t * (d + 1);
    graphc_transpose_rows(ke, d, t, d, kt, tp);
    graphc_transpose_rows(v + e * t * d, d, t, d, vt, tp);
    pad_rows(qe, d, qp, t, d, dp);
    pad_rows(ke, d, kp, t, d, dp);
    pad_rows(dye, d + 1, dyp, t, d, dp);
    memset(dqp, 0, (size_t)(3 * t * dp) * sizeof(float));
    for (int64_t i0 = 0; i0 < t; i0 += QUERIES) {
      const int64_t rows = t - i0 < QUERIES ? t - i0 : QUERIES;
      const int64_t n = keys_of(i0 + rows - 1, t, causal);
      const float *qr[QUERIES], *dyr[QUERIES];
      float* dqr[QUERIES];
      for (int r = 0; r < QUERIES; ++r) {
        qr[r] = r < rows ? qp + (i0 + r) * dp : zero;
        dyr[r] = r < rows ? dyp + (i0 + r) * dp : zero;
        dqr[r] = r < rows ? dqp + (i0 + r) * dp : discarded;
      }
      block_scores(qr, kt, tp, d, n, scale, p);
      block_scores(dyr, vt, tp, d, n, 1.0f, ds); /* dp_ij = dy_i . v_j */
      for (int r = 0; r < QUERIES; ++r) {
        const int64_t seen = r < rows ? keys_of(i0 + r, t, causal) : 0;
        if (seen > 0) {
          /* sum_j p_ij dp_ij = dy_i . y_i, less the logsumexp's own gradient (d lse_i / d s_ij = p_ij) */
          const float* yi = ye + (i0 + r) * (d + 1);
          const float* dyi = dye + (i0 + r) * (d + 1);
          const float delta = dot(dyi, yi, d) - dyi[d];
          exp_shifted(p[r], yi[d], seen); /* the weights again, from the saved logsumexp */
          for (int64_t j = 0; j < seen; ++j) ds[r][j] = p[r][j] * (ds[r][j] - delta) * scale;
        }
        for (int64_t j = seen; j < n; ++j) p[r][j] = ds[r][j] = 0.0f; /* keys it does not see, rows it lacks */
      }
      const float *pc[QUERIES] = {p[0], p[1], p[2], p[3]}, *dsc[QUERIES] = {ds[0], ds[1], ds[2], ds[3]};
      block_gradients(pc, dsc, qr, dyr, dqr, kp, dkp, dvp, dp, n);
    }
    for (int which = 0; which < 3; ++which) /* dq, dk, dv out of their padded rows */
      for (int64_t j = 0; j < t; ++j)
        memcpy(grads + which * block + (e * t + j) * d, dqp + which * t * dp + j * dp, (size_t)d * sizeof(float));
  }
  free(scratch);
  return 0;
}
