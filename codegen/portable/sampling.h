/* codegen/portable/sampling.h — how a generation program chooses the next
 * token: greedy, or a draw from softmax(logits / temperature) after an
 * optional repetition penalty, top-k and top-p (nucleus) filter. One
 * definition (sampling.c) for the compiled program, the exported library and
 * the interpreter's reference loop (codegen/Sampling.cpp compiles the same
 * file into graphc), so all three choose the same tokens. C and C++. */
#ifndef GRAPHC_PORTABLE_SAMPLING_H
#define GRAPHC_PORTABLE_SAMPLING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The tokens the repetition penalty looks back on (llama.cpp's repeat_last_n). */
#define GRAPHC_PENALTY_WINDOW 64

struct graphc_sampling {
  double temperature;        /* <= 0: greedy (the first largest logit) */
  int64_t top_k;             /* 0: off; else keep the k largest logits (ties with the k-th kept too) */
  double top_p;              /* in (0, 1]; 1: off; else the most likely tokens holding this much mass */
  double repetition_penalty; /* > 0; 1: off; else a recent token's logit l becomes l / p if l > 0, l * p if not */
};

/* runtime/Random.h's Rng: splitmix64 from seed, and uniform doubles in [0, 1). */
uint64_t graphc_rng_seeded(uint64_t seed);
double graphc_rng_uniform(uint64_t* state);

/* The next token from logits[vocab] (which it may overwrite), `recent` the
 * last n_recent tokens (at most GRAPHC_PENALTY_WINDOW are used), drawing from
 * the stream *rng only when sampling. Never sorts the vocabulary: the
 * thresholds of top-k and top-p are found by bisection over the values. */
int32_t graphc_sample(float* logits, int64_t vocab, const struct graphc_sampling* s, const int32_t* recent,
                      int64_t n_recent, uint64_t* rng);

#ifdef __cplusplus
}
#endif

#endif
