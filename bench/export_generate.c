/* bench/export_generate.c — greedy generation speed of a library made by
 * `graphc export --name model`: tokens/s at batch 1 after a prefix.
 * Build: cc -O2 -I DIR bench/export_generate.c DIR/libmodel.a -lm
 * Run:   ./a.out TOKENS [THREADS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char** argv) {
  long tokens = argc > 1 ? atol(argv[1]) : 100000;
  int threads = argc > 2 ? atoi(argv[2]) : 1;
  model_generator* g = model_create();
  if (!g) {
    fprintf(stderr, "export_generate: %s\n", model_last_error());
    return 1;
  }
  if (model_set_threads(threads) != threads) {
    fprintf(stderr, "export_generate: could not start %d threads\n", threads);
    return 1;
  }
  size_t capacity = (size_t)tokens * MODEL_MAX_TOKEN_BYTES + 1;
  char* text = malloc(capacity);
  const char* prefix = "time traveller";
  model_feed(g, prefix, strlen(prefix));
  double start = now();
  if (model_generate(g, (size_t)tokens, 0.0, 0, text, capacity) < 0) return 1;
  double seconds = now() - start;
  printf("%.1f\n", (double)tokens / seconds);
  free(text);
  model_destroy(g);
  return 0;
}
