/* e^x for x <= 0, the one exponential the row and attention kernels share,
 * and e^x over float's range for the output layer's (linear_cross_entropy_train.c). */
#ifndef GRAPHC_KERNELS_EXP_NON_POSITIVE_H
#define GRAPHC_KERNELS_EXP_NON_POSITIVE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* 2^n e^r for x = n ln2 + r, r in [-ln2/2, ln2/2], e^r by its degree-6 Taylor
 * polynomial (relative error below 2e-7, about float's rounding). Branch-free,
 * so loops over it vectorize; only for -87 <= x <= 88 (the caller clamps: a
 * NaN or an out-of-range x must not reach the integer conversion and shift). */
static inline float graphc_exp_in_range(float x) {
  const float n = floorf(x * 1.44269504f + 0.5f);
  const float r = x - n * 0.693145752f - n * 1.42860677e-6f; /* ln 2 in two parts, for an exact reduction */
  const float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666672e-1f + r * (4.16666679e-2f + r * (8.33333377e-3f +
                                                                                           r * 1.38888892e-3f)))));
  const uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* e^x for x <= 0: 0 below -87, where e^x leaves float's normal range; a NaN
 * stays NaN. The argument is clamped before graphc_exp_in_range, so no input
 * (NaN, infinities, positive values) reaches its conversion. */
static inline float graphc_exp_non_positive(float x) {
  float xc = x > -87.0f ? x : -87.0f; /* NaN lands here too: clamped, answered below */
  xc = xc < 0.0f ? xc : 0.0f;
  const float e = graphc_exp_in_range(xc);
  return x != x ? x : x < -87.0f ? 0.0f : e;
}

#endif
