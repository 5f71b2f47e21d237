// fuzz/export_api_fuzzer.c — libFuzzer harness for the exported library's C
// API (runtime/Export.h, codegen/portable/api.c), as a caller with hostile
// arguments would use it: texts of any bytes, token ids and sizes of any
// value, sampling settings that are NaN, negative or huge. scripts/fuzz.sh
// exports a small model as library `fz` (a transformer with a context of 4 on
// --text chars, so multi-byte tokens and the context refill are reached) and
// links this file with it.
//
// The library is compiled by LLVM without sanitizers, so every buffer the
// harness hands it ends at a page with no access: a read or write past the
// end is a SEGV that libFuzzer reports. The API's promises are checked after
// each call (bytes written within capacity and NUL-terminated, ids in range).
#define _DEFAULT_SOURCE  // MAP_ANONYMOUS under -std=c11
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fz.h"

// The input, read front to back; past its end every read is 0.
typedef struct {
  const uint8_t* data;
  size_t size;
} Input;

static uint64_t take(Input* in, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) {
    v |= in->size ? (uint64_t)in->data[0] << (8 * i) : 0;
    if (in->size) ++in->data, --in->size;
  }
  return v;
}

static double take_double(Input* in) {
  uint64_t bits = take(in, 8);
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

// `size` bytes that end where an inaccessible page starts (munmap with `release`).
typedef struct {
  char* bytes;
  void* mapping;
  size_t mapped;
} Guarded;

static Guarded guarded(size_t size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t body = (size + page - 1) / page * page;
  Guarded g;
  g.mapped = body + page;
  g.mapping = mmap(0, g.mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g.mapping == MAP_FAILED) abort();
  if (mprotect((char*)g.mapping + body, page, PROT_NONE) != 0) abort();
  g.bytes = (char*)g.mapping + body - size;
  return g;
}

static void release(Guarded g) { munmap(g.mapping, g.mapped); }

static void check(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "export API: %s\n", what);
    abort();
  }
}

// A text of up to 64 bytes from the input, in a guarded buffer.
static Guarded take_text(Input* in, size_t* length) {
  *length = (size_t)take(in, 1) % 65;
  Guarded t = guarded(*length);
  for (size_t i = 0; i < *length; ++i) t.bytes[i] = (char)take(in, 1);
  return t;
}

static void generate(fz_generator* g, Input* in, int sampled) {
  size_t n = (size_t)take(in, 1) % 40;
  // Capacities around the smallest allowed one, and wild ones.
  size_t need = n * FZ_MAX_TOKEN_BYTES + 1;
  uint8_t pick = (uint8_t)take(in, 1);
  size_t capacity = pick < 200 ? need + (size_t)(pick % 9) - 4 : (size_t)take(in, 8);
  size_t allocated = capacity < need + 8 ? capacity : need + 8;  // never more than the output can use
  Guarded out = guarded(allocated);
  uint64_t seed = take(in, 8);
  long written;
  if (sampled) {
    fz_sampling s;
    s.temperature = take(in, 1) < 128 ? (double)take(in, 1) / 64 : take_double(in);
    s.top_k = take(in, 1) < 128 ? (int64_t)(take(in, 1) % (FZ_VOCAB_SIZE + 3)) - 1 : (int64_t)take(in, 8);
    s.top_p = take(in, 1) < 128 ? (double)take(in, 1) / 200 : take_double(in);
    s.repetition_penalty = take(in, 1) < 128 ? (double)take(in, 1) / 50 : take_double(in);
    written = fz_generate_sampled(g, n, &s, seed, out.bytes, capacity);
  } else {
    double temperature = take(in, 1) < 128 ? (double)take(in, 1) / 64 : take_double(in);
    written = fz_generate(g, n, temperature, seed, out.bytes, capacity);
  }
  if (capacity < need) check(written == -1, "generate accepted a capacity below n * max_token_bytes + 1");
  if (written >= 0) {
    check((size_t)written < capacity && (size_t)written <= n * FZ_MAX_TOKEN_BYTES, "generate wrote past its bound");
    check(out.bytes[written] == 0 && strlen(out.bytes) == (size_t)written, "generate's text is not NUL-terminated");
  } else {
    check(fz_last_error()[0] != 0, "generate failed without a reason");
  }
  release(out);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in = {data, size};
  // Either the library's own state or one in a caller buffer of a fuzzed size.
  fz_generator* g = 0;
  Guarded state = {0, 0, 0};
  if (take(&in, 1) & 1) {
    size_t size = fz_state_size() - 64 + (size_t)take(&in, 1) % 128;
    state = guarded(size);
    g = fz_init(state.bytes, size);
    check((g != 0) == (size >= fz_state_size()), "init took a buffer below state_size or refused a big enough one");
  } else {
    g = fz_create();
  }
  if (!g) {
    if (state.mapping) release(state);
    return 0;
  }
  for (int op = 0; op < 24 && in.size > 0; ++op) {
    switch (take(&in, 1) % 7) {
      case 0: {
        size_t length;
        Guarded text = take_text(&in, &length);
        fz_feed(g, text.bytes, length);
        release(text);
        break;
      }
      case 1: {
        int token = (int)(int32_t)take(&in, 4);
        if (take(&in, 1) & 1) token = token % (FZ_VOCAB_SIZE + 2);  // near the range too
        const float* logits = fz_step(g, token);
        int valid = token >= 0 && token < FZ_VOCAB_SIZE;
        check((logits != 0) == valid, "step's answer does not match the token's range");
        if (logits) {
          volatile float sum = 0;
          for (int i = 0; i < FZ_VOCAB_SIZE; ++i) sum += logits[i];
        }
        break;
      }
      case 2: generate(g, &in, 0); break;
      case 3: generate(g, &in, 1); break;
      case 4: {
        size_t length, used = 99;
        Guarded text = take_text(&in, &length);
        int id = fz_token_of(text.bytes, length, &used);
        if (length == 0) check(id == -1, "token_of of no text is not -1");
        else check(id >= 0 && id < FZ_VOCAB_SIZE && used >= 1 && used <= length, "token_of out of range");
        release(text);
        break;
      }
      case 5: {
        int id = (int)(int32_t)take(&in, 4);
        const char* text = fz_token_text(id);
        check((text != 0) == (id >= 0 && id < FZ_VOCAB_SIZE), "token_text's answer does not match the id's range");
        if (text) check(strlen(text) <= FZ_MAX_TOKEN_BYTES, "a token longer than FZ_MAX_TOKEN_BYTES");
        break;
      }
      case 6: fz_reset(g); break;
    }
  }
  if (state.mapping) release(state);
  else fz_destroy(g);
  return 0;
}
