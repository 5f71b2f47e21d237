/* codegen/portable/program.h — the contract between graphc's code generator
 * and the portable runtime (kernels/, program.c, api.c): C compiled to LLVM
 * bitcode when graphc is built, linked into a generation program's module,
 * and optimized with it for the program's target. Included by C and C++.
 *
 * The generator emits, next to the step graph's `graphc_entry(arena)`:
 *   const int64_t graphc_program_layout[]   the fields below, then the tables
 *   const char    graphc_program_tokens[]   token strings, each NUL-terminated
 *   const int32_t graphc_program_token_at[] vocab + 1 offsets into it
 *   const int32_t graphc_program_byte_token[256]  byte -> token id (0 = <unk>)
 *   const char    graphc_program_target[]   the CPU the code was built for
 *   const unsigned char graphc_program_weights[]  (export) the packed params
 *   const int64_t graphc_program_weights_file[2]  {bytes, hash} of the params
 *                 when they are in a separate file instead (export
 *                 --weights-file); {0, 0} when they are in the library
 */
#ifndef GRAPHC_PORTABLE_PROGRAM_H
#define GRAPHC_PORTABLE_PROGRAM_H

#include <stdint.h>

enum graphc_layout_field {
  GRAPHC_LAYOUT_VERSION,        /* GRAPHC_PROGRAM_VERSION */
  GRAPHC_LAYOUT_ARENA_BYTES,
  GRAPHC_LAYOUT_BATCH,          /* rows stepped together */
  GRAPHC_LAYOUT_VOCAB,
  GRAPHC_LAYOUT_INPUT_OFFSET,   /* i32[batch, 1], the tokens fed to a step */
  GRAPHC_LAYOUT_LOGITS_OFFSET,  /* f32[batch, vocab], what a step computed */
  GRAPHC_LAYOUT_CPU_FEATURES,   /* GRAPHC_CPU_* bits the code needs */
  GRAPHC_LAYOUT_NUM_UPDATES,    /* after a step: arena[dst] = arena[src], bytes */
  GRAPHC_LAYOUT_NUM_STATE,      /* reset: zero arena[offset], bytes */
  GRAPHC_LAYOUT_NUM_PARAMS,     /* create: arena[offset] = weights[at], bytes */
  GRAPHC_LAYOUT_MAX_TOKEN_BYTES,
  GRAPHC_LAYOUT_CONTEXT,        /* positions the model attends over (0: unbounded; graphc_program_context_rule) */
  GRAPHC_LAYOUT_HEADER          /* then 3 x updates, 2 x state, 3 x params */
};

#define GRAPHC_PROGRAM_VERSION 2

/* A separate weights file (export --weights-file): a 64-byte header (the
 * magic, the blob's bytes and hash as little-endian u64, zeros), then the
 * blob graphc_program_weights would hold, 64-byte aligned when mapped. */
#define GRAPHC_WEIGHTS_MAGIC "graphcW1"
#define GRAPHC_WEIGHTS_HEADER 64

/* FNV-1a over the blob: what ties a weights file to its library. */
static inline uint64_t graphc_weights_hash(const unsigned char* data, uint64_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t i = 0; i < n; ++i) h = (h ^ data[i]) * 0x100000001b3ull;
  return h;
}
#define GRAPHC_MAX_BATCH 4096

/* x86 features an exported library checks with cpuid before it runs. */
enum graphc_cpu_feature {
  GRAPHC_CPU_SSE42 = 1 << 0,
  GRAPHC_CPU_POPCNT = 1 << 1,
  GRAPHC_CPU_AVX = 1 << 2,
  GRAPHC_CPU_AVX2 = 1 << 3,
  GRAPHC_CPU_FMA = 1 << 4,
  GRAPHC_CPU_BMI2 = 1 << 5,
  GRAPHC_CPU_F16C = 1 << 6,
  GRAPHC_CPU_AVX512F = 1 << 7,
  GRAPHC_CPU_AVX512BW = 1 << 8,
  GRAPHC_CPU_AVX512DQ = 1 << 9,
  GRAPHC_CPU_AVX512VL = 1 << 10,
  GRAPHC_CPU_AVX512CD = 1 << 11
};
#define GRAPHC_CPU_FEATURE_NAMES \
  { "sse4.2", "popcnt", "avx", "avx2", "fma", "bmi2", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd" }
#define GRAPHC_CPU_FEATURE_COUNT 12

#ifdef __cplusplus
extern "C" {
#endif

/* program.c: the generation loop, run entirely in generated code. */
void graphc_program_reset(char* arena);
/* The context rule, for a model whose layout gives a context C > 0 (a
 * transformer: its position table has C rows, its KV cache C slots): a row
 * stepped C times since its state was reset is reset and stepped again on
 * its last C/2 tokens before its next step. So every step sees at least C/2
 * tokens of history at the positions the model was trained on, and the first
 * C steps compute exactly what the model computes on the whole sequence.
 * Returns C/2 when the step about to run (after `since` steps since the
 * reset) needs the refill, else 0 (graphc_context_refill with this program's C). */
int64_t graphc_program_refill(int64_t since);
static inline int64_t graphc_context_refill(int64_t context, int64_t since) {
  return context > 0 && since >= context ? context / 2 : 0;
}
/* One step on tokens[batch]; the state advances, the logits are in the arena. */
void graphc_program_step(char* arena, const int32_t* tokens);
/* rng[r] = the start of row r's random stream for `seed` (runtime/Random.h's
 * Rng(seed + r)), for every row of the batch. */
void graphc_program_seed(uint64_t seed, uint64_t* rng);
/* Row r (< batch) warms up on prefix[r*stride .. + lens[r]-1), then generates
 * n tokens into out[r*n ..] from its last prefix token, each chosen by
 * sampling.h's graphc_sample (greedy, or drawn with the splitmix64 stream
 * rng[r], which it advances). Starts from the current state; the batch is at
 * most GRAPHC_MAX_BATCH rows. */
struct graphc_sampling;
void graphc_program_generate(char* arena, const int32_t* prefix, const int64_t* lens, int64_t stride, int64_t n,
                             const struct graphc_sampling* sampling, uint64_t* rng, int32_t* out);

#ifdef __cplusplus
}
#endif

#endif
