/* codegen/portable/api.c — the C API of a library made by `graphc export`.
 * Every graphc_api_X here becomes NAME_X in the library (everything else is
 * internal), and NAME.h documents it. Needs only libc and libm.
 *
 * The functions that check the CPU are built for a generic x86-64 whatever
 * the export's target (the exporter retags them), so that a library built for
 * AVX-512 says so on a CPU without it instead of dying on an illegal instruction. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/team.h"
#include "program.h"
#include "sampling.h"

extern const int64_t graphc_program_layout[];
extern const char graphc_program_tokens[];
extern const int32_t graphc_program_token_at[];
extern const int32_t graphc_program_byte_token[256];
extern const char graphc_program_target[];
extern const unsigned char graphc_program_weights[];
extern const int64_t graphc_program_weights_file[2];

static int64_t field(enum graphc_layout_field f) { return graphc_program_layout[f]; }

#define ARENA_ALIGN 64

struct graphc_generator {
  char* arena;
  int32_t pending;     /* the token the next generation starts from, or -1 */
  int32_t heap;        /* 1: made by create, freed by destroy */
  int32_t n_recent;    /* tokens in recent */
  int32_t recent[GRAPHC_PENALTY_WINDOW]; /* the last tokens fed or generated, for the repetition penalty */
  int64_t since;       /* steps since the state was reset (the context rule, program.h) */
  int64_t stepped;     /* tokens stepped since graphc_api_reset, the newest last in history */
  int32_t* history;    /* the last `context` tokens stepped, a ring (after the arena; none without a context) */
};

/* One step on `token`, by the context rule: the state refilled with the last
 * context/2 tokens when the model has run out of positions. */
static void step_token(struct graphc_generator* g, int32_t token) {
  int64_t context = field(GRAPHC_LAYOUT_CONTEXT), keep = graphc_program_refill(g->since);
  if (keep > 0) {
    graphc_program_reset(g->arena);
    for (int64_t k = keep; k > 0; --k) {
      int32_t t = g->history[(g->stepped - k) % context];
      graphc_program_step(g->arena, &t);
    }
    g->since = keep;
  }
  graphc_program_step(g->arena, &token);
  ++g->since;
  if (context > 0) g->history[g->stepped % context] = token;
  ++g->stepped;
}

/* `t` becomes the pending token and the newest of the recent ones. */
static void set_pending(struct graphc_generator* g, int32_t t) {
  if (g->n_recent == GRAPHC_PENALTY_WINDOW) memmove(g->recent, g->recent + 1, sizeof g->recent - sizeof g->recent[0]);
  else ++g->n_recent;
  g->recent[g->n_recent - 1] = t;
  g->pending = t;
}

static char error_text[256];

static void set_error(const char* a, const char* b, const char* c) {
  error_text[0] = 0;
  strncat(error_text, a, sizeof error_text - 1);
  strncat(error_text, b, sizeof error_text - 1 - strlen(error_text));
  strncat(error_text, c, sizeof error_text - 1 - strlen(error_text));
}

const char* graphc_api_last_error(void) { return error_text; }
const char* graphc_api_target_cpu(void) { return graphc_program_target; }

/* ---- the CPU check: cpuid and xgetbv, no library ---- */
static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

__attribute__((noinline)) int64_t graphc_api_cpu_features(void) {
  uint32_t r[4];
  cpuid(0, 0, r);
  uint32_t max_leaf = r[0];
  cpuid(1, 0, r);
  int64_t f = 0;
  uint32_t ecx1 = r[2];
  if (ecx1 & (1u << 20)) f |= GRAPHC_CPU_SSE42;
  if (ecx1 & (1u << 23)) f |= GRAPHC_CPU_POPCNT;
  int os_ymm = 0, os_zmm = 0;
  if (ecx1 & (1u << 27)) { /* OSXSAVE: the OS saves the vector registers we may use */
    uint64_t xcr0 = xgetbv0();
    os_ymm = (xcr0 & 0x6) == 0x6;
    os_zmm = (xcr0 & 0xe6) == 0xe6;
  }
  if (os_ymm && (ecx1 & (1u << 28))) f |= GRAPHC_CPU_AVX;
  if (os_ymm && (ecx1 & (1u << 12))) f |= GRAPHC_CPU_FMA;
  if (os_ymm && (ecx1 & (1u << 29))) f |= GRAPHC_CPU_F16C;
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    uint32_t ebx7 = r[1];
    if (os_ymm && (ebx7 & (1u << 5))) f |= GRAPHC_CPU_AVX2;
    if (ebx7 & (1u << 8)) f |= GRAPHC_CPU_BMI2;
    if (os_zmm && (ebx7 & (1u << 16))) f |= GRAPHC_CPU_AVX512F;
    if (os_zmm && (ebx7 & (1u << 17))) f |= GRAPHC_CPU_AVX512DQ;
    if (os_zmm && (ebx7 & (1u << 28))) f |= GRAPHC_CPU_AVX512CD;
    if (os_zmm && (ebx7 & (1u << 30))) f |= GRAPHC_CPU_AVX512BW;
    if (os_zmm && (ebx7 & (1u << 31))) f |= GRAPHC_CPU_AVX512VL;
  }
  return f;
}

/* 1 if this CPU has what the code was built for; else 0 and last_error says what is missing. */
__attribute__((noinline)) int graphc_api_cpu_supported(void) {
  static const char* const names[] = GRAPHC_CPU_FEATURE_NAMES;
  int64_t missing = field(GRAPHC_LAYOUT_CPU_FEATURES) & ~graphc_api_cpu_features();
  if (!missing) return 1;
  set_error("this library was built for CPU '", graphc_program_target, "', and this CPU lacks a feature it needs");
  for (int i = 0; i < GRAPHC_CPU_FEATURE_COUNT; ++i)
    if (missing & ((int64_t)1 << i)) {
      set_error("this library was built for CPU '", graphc_program_target, "', and this CPU lacks ");
      strncat(error_text, names[i], sizeof error_text - 1 - strlen(error_text));
      break;
    }
  return 0;
}

/* ---- the weights: in the library, or mapped from their file ---- */
static const unsigned char* mapped_weights; /* the blob inside the mapping, once loaded */

static const unsigned char* weights(void) {
  return graphc_program_weights_file[0] > 0 ? mapped_weights : graphc_program_weights;
}

/* Maps the weights file of a library exported with --weights-file, checking
 * that it is this library's (size and hash); 1 on success, else 0 with the
 * reason in last_error. Call before create or init; once is enough. */
int graphc_api_load_weights(const char* path) {
  const uint64_t bytes = (uint64_t)graphc_program_weights_file[0];
  if (bytes == 0) {
    set_error("this library holds its weights itself: ", "there is no weights file to load", "");
    return 0;
  }
  if (mapped_weights) return 1;
  int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    if (fd >= 0) close(fd);
    set_error("cannot open the weights file '", path ? path : "(null)", "'");
    return 0;
  }
  if ((uint64_t)st.st_size != GRAPHC_WEIGHTS_HEADER + bytes) {
    close(fd);
    set_error("'", path, "' is not this library's weights file: its size differs");
    return 0;
  }
  void* map = mmap(0, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) {
    set_error("cannot map the weights file '", path, "'");
    return 0;
  }
  const unsigned char* file = (const unsigned char*)map;
  uint64_t header[2];
  memcpy(header, file + 8, sizeof header);
  uint64_t hash = graphc_weights_hash(file + GRAPHC_WEIGHTS_HEADER, bytes);
  if (memcmp(file, GRAPHC_WEIGHTS_MAGIC, 8) != 0 || header[0] != bytes ||
      header[1] != (uint64_t)graphc_program_weights_file[1] || hash != header[1]) {
    munmap(map, (size_t)st.st_size);
    set_error("'", path, "' is not this library's weights file, or it is damaged: its header or hash differs");
    return 0;
  }
  mapped_weights = file + GRAPHC_WEIGHTS_HEADER;
  return 1;
}

/* ---- generators ---- */
size_t graphc_api_state_size(void) {
  return sizeof(struct graphc_generator) + ARENA_ALIGN + (size_t)field(GRAPHC_LAYOUT_ARENA_BYTES) +
         (size_t)field(GRAPHC_LAYOUT_CONTEXT) * sizeof(int32_t);
}

__attribute__((noinline)) static void load_params(char* arena) {
  const int64_t* p = graphc_program_layout + GRAPHC_LAYOUT_HEADER + 3 * field(GRAPHC_LAYOUT_NUM_UPDATES) +
                     2 * field(GRAPHC_LAYOUT_NUM_STATE);
  memset(arena, 0, (size_t)field(GRAPHC_LAYOUT_ARENA_BYTES));
  for (int64_t i = 0; i < field(GRAPHC_LAYOUT_NUM_PARAMS); ++i)
    memcpy(arena + p[3 * i], weights() + p[3 * i + 2], (size_t)p[3 * i + 1]);
}

struct graphc_generator* graphc_api_init(void* buffer, size_t size) {
  if (!graphc_api_cpu_supported()) return 0;
  if (!weights()) {
    set_error("this library's weights are in a separate file: ", "call load_weights(PATH) first", "");
    return 0;
  }
  if (!buffer || size < graphc_api_state_size()) {
    set_error("the state buffer is smaller than ", "the library's state_size()", "");
    return 0;
  }
  struct graphc_generator* g = (struct graphc_generator*)buffer;
  uintptr_t start = (uintptr_t)(g + 1);
  g->arena = (char*)((start + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN);
  g->pending = -1;
  g->n_recent = 0;
  g->heap = 0;
  g->since = 0;
  g->stepped = 0;
  /* The arena's size is a multiple of 4 (whole f32/i32 tensors), so the ring after it is aligned. */
  g->history = (int32_t*)(g->arena + field(GRAPHC_LAYOUT_ARENA_BYTES));
  load_params(g->arena);
  return g;
}

struct graphc_generator* graphc_api_create(void) {
  if (!graphc_api_cpu_supported()) return 0;
  if (!weights()) {
    set_error("this library's weights are in a separate file: ", "call load_weights(PATH) first", "");
    return 0;
  }
  size_t size = graphc_api_state_size();
  void* buffer = malloc(size);
  if (!buffer) {
    set_error("out of memory for the generator's state", "", "");
    return 0;
  }
  struct graphc_generator* g = graphc_api_init(buffer, size);
  if (g) g->heap = 1;
  else free(buffer);
  return g;
}

void graphc_api_destroy(struct graphc_generator* g) {
  if (g && g->heap) free(g);
}

void graphc_api_reset(struct graphc_generator* g) {
  graphc_program_reset(g->arena);
  g->pending = -1;
  g->n_recent = 0;
  g->since = 0;
  g->stepped = 0;
}

/* Threads for the products of every generator of this library (default 1). */
int graphc_api_set_threads(int threads) { return graphc_team_set_threads(threads); }

int graphc_api_vocab_size(void) { return (int)field(GRAPHC_LAYOUT_VOCAB); }
int graphc_api_token_id(unsigned char byte) { return graphc_program_byte_token[byte]; }
const char* graphc_api_token_text(int id) {
  if (id < 0 || id >= field(GRAPHC_LAYOUT_VOCAB)) return 0;
  return graphc_program_tokens + graphc_program_token_at[id];
}

/* One step on a token; returns the logits (vocab_size floats, valid until the
 * next call), or NULL for a token outside the vocabulary. */
const float* graphc_api_step(struct graphc_generator* g, int token) {
  if (token < 0 || token >= field(GRAPHC_LAYOUT_VOCAB)) {
    set_error("step: the token id is outside 0..vocab_size()-1", "", "");
    return 0;
  }
  step_token(g, token);
  g->pending = -1;
  g->n_recent = 0;
  return (const float*)(g->arena + field(GRAPHC_LAYOUT_LOGITS_OFFSET));
}

/* The length of the UTF-8 sequence at text[i] (1..4), or 0 if it is not one:
 * runtime/Corpus.cpp's utf8Length, so that the library encodes as graphc does. */
static size_t utf8_length(const unsigned char* text, size_t length, size_t i) {
  unsigned b = text[i];
  size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > length) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((text[i + k] >> 6) != 0x2) return 0;
  if (n == 2 && b < 0xc2) return 0;
  return n;
}

/* The token at text[i] and its length in bytes: a multi-byte UTF-8 character
 * that is a token, else the byte's token (<unk> if none). */
static int32_t token_at(const unsigned char* text, size_t length, size_t i, size_t* used) {
  size_t n = utf8_length(text, length, i);
  if (n > 1) {
    for (int64_t id = 1; id < field(GRAPHC_LAYOUT_VOCAB); ++id) {
      const char* t = graphc_program_tokens + graphc_program_token_at[id];
      if (strlen(t) == n && memcmp(t, text + i, n) == 0) {
        *used = n;
        return (int32_t)id;
      }
    }
  }
  *used = 1;
  return graphc_program_byte_token[text[i]];
}

/* The id of the character text starts with (a multi-byte UTF-8 character that
 * is a token, else its first byte's token) and, in *used, its bytes; -1 for no text. */
int graphc_api_token_of(const char* text, size_t length, size_t* used) {
  size_t n = 0;
  int id = text && length > 0 ? (int)token_at((const unsigned char*)text, length, 0, &n) : -1;
  if (used) *used = n;
  return id;
}

/* Warms the state up on text: every character but the last is stepped; the
 * last is where generation starts (as `graphc generate --prefix`). */
void graphc_api_feed(struct graphc_generator* g, const char* text, size_t length) {
  const unsigned char* bytes = (const unsigned char*)text;
  for (size_t i = 0, used; i < length; i += used) {
    if (g->pending >= 0) step_token(g, g->pending);
    set_pending(g, token_at(bytes, length, i, &used));
  }
}

/* n tokens from the pending one (the last fed or generated) as text into out,
 * NUL-terminated, each chosen as sampling.h says; returns the bytes written,
 * or -1 (and writes nothing) when nothing was fed, a sampling setting is out
 * of range, or capacity is below n * max_token_bytes + 1. */
long graphc_api_generate_sampled(struct graphc_generator* g, size_t n, const struct graphc_sampling* s, uint64_t seed,
                                 char* out, size_t capacity) {
  if (g->pending < 0) {
    set_error("generate: feed a prefix first", "", "");
    return -1;
  }
  if (!s || !(s->top_k >= 0 && s->top_k <= field(GRAPHC_LAYOUT_VOCAB)) || !(s->top_p > 0 && s->top_p <= 1) ||
      !(s->repetition_penalty > 0 && s->repetition_penalty < INFINITY) || isnan(s->temperature)) {
    set_error("generate: sampling settings out of range (top_k in 0..vocab, top_p in (0, 1], penalty > 0)", "", "");
    return -1;
  }
  size_t per_token = (size_t)field(GRAPHC_LAYOUT_MAX_TOKEN_BYTES);
  if (n > (SIZE_MAX - 1) / per_token || capacity < n * per_token + 1) { /* the product must not wrap */
    set_error("generate: the output buffer is smaller than n * max_token_bytes + 1", "", "");
    return -1;
  }
  float* logits = (float*)(g->arena + field(GRAPHC_LAYOUT_LOGITS_OFFSET));
  int64_t vocab = field(GRAPHC_LAYOUT_VOCAB);
  uint64_t rng = graphc_rng_seeded(seed);
  size_t written = 0;
  for (size_t i = 0; i < n; ++i) {
    step_token(g, g->pending);
    int32_t t = graphc_sample(logits, vocab, s, g->recent, g->n_recent, &rng);
    const char* text = graphc_api_token_text(t);
    size_t l = strlen(text);
    memcpy(out + written, text, l);
    written += l;
    set_pending(g, t);
  }
  out[written] = 0;
  return (long)written;
}

/* Plain temperature sampling (or greedy): generate_sampled without filters. */
long graphc_api_generate(struct graphc_generator* g, size_t n, double temperature, uint64_t seed, char* out,
                         size_t capacity) {
  struct graphc_sampling s = {temperature, 0, 1.0, 1.0};
  return graphc_api_generate_sampled(g, n, &s, seed, out, capacity);
}
