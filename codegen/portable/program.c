/* codegen/portable/program.c — generation as one compiled program: the
 * warm-up over the prefix, the step (graphc_entry, generated from the model's
 * step graph), the choice of the next token and feeding it back, with no
 * return to the caller per token. Linked into the module of the step graph,
 * so the JIT (`graphc generate`) and an exported library run the same code. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "program.h"
#include "sampling.h"

extern const int64_t graphc_program_layout[];
void graphc_entry(char* arena);

static int64_t field(enum graphc_layout_field f) { return graphc_program_layout[f]; }
static const int64_t* updates(void) { return graphc_program_layout + GRAPHC_LAYOUT_HEADER; }
static const int64_t* state_slots(void) { return updates() + 3 * field(GRAPHC_LAYOUT_NUM_UPDATES); }

void graphc_program_reset(char* arena) {
  const int64_t* s = state_slots();
  for (int64_t i = 0; i < field(GRAPHC_LAYOUT_NUM_STATE); ++i) memset(arena + s[2 * i], 0, (size_t)s[2 * i + 1]);
}

int64_t graphc_program_refill(int64_t since) { return graphc_context_refill(field(GRAPHC_LAYOUT_CONTEXT), since); }

void graphc_program_step(char* arena, const int32_t* tokens) {
  memcpy(arena + field(GRAPHC_LAYOUT_INPUT_OFFSET), tokens, (size_t)field(GRAPHC_LAYOUT_BATCH) * sizeof(int32_t));
  graphc_entry(arena);
  const int64_t* u = updates();
  for (int64_t i = 0; i < field(GRAPHC_LAYOUT_NUM_UPDATES); ++i)
    if (u[3 * i] != u[3 * i + 1]) memmove(arena + u[3 * i], arena + u[3 * i + 1], (size_t)u[3 * i + 2]);
}

/* Row r's t-th token (prefix, then what it generated); a row that is done
 * repeats its last (it idles along with the others). */
static int32_t token_of(const int32_t* prefix, const int64_t* lens, int64_t stride, const int32_t* out, int64_t n,
                        int64_t r, int64_t t) {
  if (t < lens[r]) return prefix[r * stride + t];
  int64_t produced = t - lens[r];
  return out[r * n + (produced < n ? produced : n - 1)];
}

/* Row r's last tokens (prefix, then what it generated), for the repetition penalty. */
static int64_t recent_tokens(const int32_t* prefix, int64_t len, const int32_t* made, int64_t produced, int32_t* recent) {
  int64_t n = 0;
  for (int64_t i = len + produced - GRAPHC_PENALTY_WINDOW; i < len + produced; ++i)
    if (i >= 0) recent[n++] = i < len ? prefix[i] : made[i - len];
  return n;
}

void graphc_program_seed(uint64_t seed, uint64_t* rng) {
  for (int64_t r = 0; r < field(GRAPHC_LAYOUT_BATCH); ++r) rng[r] = graphc_rng_seeded(seed + (uint64_t)r);
}

void graphc_program_generate(char* arena, const int32_t* prefix, const int64_t* lens, int64_t stride, int64_t n,
                             const struct graphc_sampling* sampling, uint64_t* rng, int32_t* out) {
  int64_t batch = field(GRAPHC_LAYOUT_BATCH), vocab = field(GRAPHC_LAYOUT_VOCAB);
  if (batch > GRAPHC_MAX_BATCH) return; /* refused by the builder */
  float* logits = (float*)(arena + field(GRAPHC_LAYOUT_LOGITS_OFFSET)); /* the choice may overwrite them */
  int32_t tokens[GRAPHC_MAX_BATCH], recent[GRAPHC_PENALTY_WINDOW];
  int64_t longest = 0;
  for (int64_t r = 0; r < batch; ++r) {
    tokens[r] = 0;
    if (lens[r] > longest) longest = lens[r];
  }
  /* Row r feeds its prefix through step lens[r]-1, then its own choices; it
   * chooses from step lens[r]-1 on, and a row that is done idles along. The
   * rows step together, so the context rule refills them all at once. */
  int64_t since = 0;
  for (int64_t t = 0; t + 1 < longest + n; ++t) {
    int64_t keep = graphc_program_refill(since);
    if (keep > 0) {
      graphc_program_reset(arena);
      for (int64_t k = t - keep; k < t; ++k) {
        for (int64_t r = 0; r < batch; ++r) tokens[r] = token_of(prefix, lens, stride, out, n, r, k);
        graphc_program_step(arena, tokens);
      }
      since = keep;
    }
    for (int64_t r = 0; r < batch; ++r)
      if (t < lens[r]) tokens[r] = prefix[r * stride + t];
      else if (keep > 0) tokens[r] = token_of(prefix, lens, stride, out, n, r, t);
    graphc_program_step(arena, tokens);
    ++since;
    for (int64_t r = 0; r < batch; ++r) {
      int64_t produced = t - (lens[r] - 1);
      if (produced < 0 || produced >= n) continue;
      int64_t n_recent =
          sampling->repetition_penalty != 1.0 ? recent_tokens(prefix + r * stride, lens[r], out + r * n, produced, recent) : 0;
      tokens[r] = graphc_sample(logits + r * vocab, vocab, sampling, recent, n_recent, &rng[r]);
      out[r * n + produced] = tokens[r];
    }
  }
}
