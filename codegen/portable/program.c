/* codegen/portable/program.c — generation as one compiled program: the
 * warm-up over the prefix, the step (graphc_entry, generated from the model's
 * step graph), the choice of the next token and feeding it back, with no
 * return to the caller per token. Linked into the module of the step graph,
 * so the JIT (`graphc generate`) and an exported library run the same code. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "program.h"

extern const int64_t graphc_program_layout[];
void graphc_entry(char* arena);

static int64_t field(enum graphc_layout_field f) { return graphc_program_layout[f]; }
static const int64_t* updates(void) { return graphc_program_layout + GRAPHC_LAYOUT_HEADER; }
static const int64_t* state_slots(void) { return updates() + 3 * field(GRAPHC_LAYOUT_NUM_UPDATES); }

void graphc_program_reset(char* arena) {
  const int64_t* s = state_slots();
  for (int64_t i = 0; i < field(GRAPHC_LAYOUT_NUM_STATE); ++i) memset(arena + s[2 * i], 0, (size_t)s[2 * i + 1]);
}

void graphc_program_step(char* arena, const int32_t* tokens) {
  memcpy(arena + field(GRAPHC_LAYOUT_INPUT_OFFSET), tokens, (size_t)field(GRAPHC_LAYOUT_BATCH) * sizeof(int32_t));
  graphc_entry(arena);
  const int64_t* u = updates();
  for (int64_t i = 0; i < field(GRAPHC_LAYOUT_NUM_UPDATES); ++i)
    if (u[3 * i] != u[3 * i + 1]) memmove(arena + u[3 * i], arena + u[3 * i + 1], (size_t)u[3 * i + 2]);
}

/* runtime/Random.h's Rng: splitmix64, and uniform doubles in [0, 1). */
static uint64_t rng_seeded(uint64_t seed) { return seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull; }
static uint64_t rng_next(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double rng_uniform(uint64_t* state) { return (double)(rng_next(state) >> 11) * (1.0 / (double)(1ull << 53)); }

/* The first largest logit, or a draw from softmax(logits / temperature) in
 * double precision (the probabilities are computed twice rather than stored). */
static int32_t choose(const float* logits, int64_t vocab, double temperature, uint64_t* rng) {
  int32_t best = 0;
  for (int64_t k = 1; k < vocab; ++k)
    if (logits[k] > logits[best]) best = (int32_t)k;
  if (temperature <= 0) return best;
  double mx = logits[best], total = 0;
  for (int64_t k = 0; k < vocab; ++k) total += exp((logits[k] - mx) / temperature);
  double u = rng_uniform(rng) * total;
  int32_t next = 0;
  for (; next + 1 < vocab; ++next) {
    double p = exp((logits[next] - mx) / temperature);
    if (u < p) break;
    u -= p;
  }
  return next;
}

void graphc_program_seed(uint64_t seed, uint64_t* rng) {
  for (int64_t r = 0; r < field(GRAPHC_LAYOUT_BATCH); ++r) rng[r] = rng_seeded(seed + (uint64_t)r);
}

void graphc_program_generate(char* arena, const int32_t* prefix, const int64_t* lens, int64_t stride, int64_t n,
                             double temperature, uint64_t* rng, int32_t* out) {
  int64_t batch = field(GRAPHC_LAYOUT_BATCH), vocab = field(GRAPHC_LAYOUT_VOCAB);
  if (batch > GRAPHC_MAX_BATCH) return; /* refused by the builder */
  const float* logits = (const float*)(arena + field(GRAPHC_LAYOUT_LOGITS_OFFSET));
  int32_t tokens[GRAPHC_MAX_BATCH];
  int64_t longest = 0;
  for (int64_t r = 0; r < batch; ++r) {
    tokens[r] = 0;
    if (lens[r] > longest) longest = lens[r];
  }
  /* Row r feeds its prefix through step lens[r]-1, then its own choices; it
   * chooses from step lens[r]-1 on, and a row that is done idles along. */
  for (int64_t t = 0; t + 1 < longest + n; ++t) {
    for (int64_t r = 0; r < batch; ++r)
      if (t < lens[r]) tokens[r] = prefix[r * stride + t];
    graphc_program_step(arena, tokens);
    for (int64_t r = 0; r < batch; ++r) {
      int64_t produced = t - (lens[r] - 1);
      if (produced < 0 || produced >= n) continue;
      tokens[r] = choose(logits + r * vocab, vocab, temperature, &rng[r]);
      out[r * n + produced] = tokens[r];
    }
  }
}
