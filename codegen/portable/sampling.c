/* codegen/portable/sampling.c — see sampling.h. Written in the common subset
 * of C and C++: codegen/Sampling.cpp compiles this file into graphc. */
#include "sampling.h"

#include <math.h>
#include <string.h>

uint64_t graphc_rng_seeded(uint64_t seed) { return seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull; }

static uint64_t rng_next(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double graphc_rng_uniform(uint64_t* state) { return (double)(rng_next(state) >> 11) * (1.0 / (double)(1ull << 53)); }

/* A float's bits as an unsigned key in the floats' order. */
static uint32_t order_key(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

/* The largest key K with at least k values whose key is >= K: the k-th largest value's key. */
static uint32_t kth_largest_key(const float* x, int64_t n, int64_t k) {
  uint32_t lo = 0, hi = 0xffffffffu;
  while (lo < hi) {
    uint32_t mid = lo + (uint32_t)((hi - lo) / 2 + (hi - lo) % 2);
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i) count += order_key(x[i]) >= mid;
    if (count >= k) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/* The largest key K whose weights w >= K (positive floats: the bits order them) hold at least `mass`. */
static uint32_t nucleus_key(const float* w, int64_t n, double mass) {
  uint32_t lo = 0, hi = 0x7f800000u; /* weights are in [0, 1] */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2 + (hi - lo) % 2;
    double held = 0;
    for (int64_t i = 0; i < n; ++i) {
      uint32_t bits;
      memcpy(&bits, &w[i], sizeof bits);
      if (bits >= mid) held += w[i];
    }
    if (held >= mass) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

static void penalize(float* logits, int64_t vocab, double penalty, const int32_t* recent, int64_t n_recent) {
  int64_t first = n_recent > GRAPHC_PENALTY_WINDOW ? n_recent - GRAPHC_PENALTY_WINDOW : 0;
  for (int64_t i = first; i < n_recent; ++i) {
    int32_t t = recent[i];
    int seen = 0;
    for (int64_t j = first; j < i && !seen; ++j) seen = recent[j] == t;
    if (seen || t < 0 || t >= vocab) continue;
    logits[t] = logits[t] > 0 ? (float)(logits[t] / penalty) : (float)(logits[t] * penalty);
  }
}

int32_t graphc_sample(float* logits, int64_t vocab, const struct graphc_sampling* s, const int32_t* recent,
                      int64_t n_recent, uint64_t* rng) {
  if (s->repetition_penalty != 1.0) penalize(logits, vocab, s->repetition_penalty, recent, n_recent);
  int32_t best = 0;
  for (int64_t k = 1; k < vocab; ++k)
    if (logits[k] > logits[best]) best = (int32_t)k;
  double temperature = s->temperature;
  if (temperature <= 0) return best;
  double mx = logits[best];
  if (s->top_k <= 0 && s->top_p >= 1.0) {
    /* Plain softmax sampling in double (the probabilities computed twice rather than stored). */
    double total = 0;
    for (int64_t k = 0; k < vocab; ++k) total += exp((logits[k] - mx) / temperature);
    double u = graphc_rng_uniform(rng) * total;
    int32_t next = 0;
    for (; next + 1 < vocab; ++next) {
      double p = exp((logits[next] - mx) / temperature);
      if (u < p) break;
      u -= p;
    }
    return next;
  }
  /* Filtered: the weights e^((l - max) / T) in place of the logits, 0 outside the top k. */
  uint32_t k_key = s->top_k > 0 && s->top_k < vocab ? kth_largest_key(logits, vocab, s->top_k) : 0;
  double total = 0;
  for (int64_t k = 0; k < vocab; ++k) {
    float w = order_key(logits[k]) >= k_key ? (float)exp((logits[k] - mx) / temperature) : 0.0f;
    logits[k] = w;
    total += w;
  }
  uint32_t p_key = s->top_p < 1.0 ? nucleus_key(logits, vocab, s->top_p * total) : 0;
  double kept = 0;
  for (int64_t k = 0; k < vocab; ++k) {
    uint32_t bits;
    memcpy(&bits, &logits[k], sizeof bits);
    if (bits >= p_key) kept += logits[k];
    else logits[k] = 0.0f;
  }
  double u = graphc_rng_uniform(rng) * kept;
  int32_t next = best; /* if rounding leaves u past the end */
  for (int64_t k = 0; k < vocab; ++k) {
    if (logits[k] <= 0.0f) continue;
    if (u < logits[k]) return (int32_t)k;
    u -= logits[k];
  }
  return next;
}
