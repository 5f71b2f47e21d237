/* e^x for x <= 0, the one exponential the row and attention kernels share. */
#ifndef GRAPHC_KERNELS_EXP_NON_POSITIVE_H
#define GRAPHC_KERNELS_EXP_NON_POSITIVE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Branch-free so loops over it vectorize: 2^n e^r with r in [-ln2/2, ln2/2],
 * e^r by its degree-6 Taylor polynomial (relative error below 2e-7, about
 * float's rounding). 0 below -87, where e^x leaves float's normal range; a
 * NaN stays NaN. The argument is clamped before it becomes an integer, so no
 * input (NaN, infinities, positive values) reaches an undefined conversion or
 * shift. */
static inline float graphc_exp_non_positive(float x) {
  float xc = x > -87.0f ? x : -87.0f; /* NaN lands here too: clamped, answered below */
  xc = xc < 0.0f ? xc : 0.0f;
  const float n = floorf(xc * 1.44269504f + 0.5f);
  const float r = xc - n * 0.693145752f - n * 1.42860677e-6f; /* ln 2 in two parts, for an exact reduction */
  const float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666672e-1f + r * (4.16666679e-2f + r * (8.33333377e-3f +
                                                                                           r * 1.38888892e-3f)))));
  const uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return x != x ? x : x < -87.0f ? 0.0f : p * scale;
}

#endif
