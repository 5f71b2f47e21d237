/* codegen/portable/kernels.c — the runtime kernels a generation program
 * calls, with the signatures of codegen/RuntimeKernels.def, in plain C for a
 * program that must run without graphc's C++ runtime (an exported library,
 * and the JIT's generation program, which is the same code). The products
 * use the target's generated micro-kernels through the same table as the C++
 * driver (codegen/ProductKernels.h), and may share their panels with a small
 * team of threads (graphc_program_set_threads); a panel is computed whole by
 * one thread, so the result is the same bits with any number of threads.
 * Index errors cannot be reported from here: an out-of-range row reads as zeros. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "program.h"
#include "graph/counter_random.h"

#include "attention.h"
#include "rows.h"

#define MAX_TILE_ROWS 16

typedef void (*tile_kernel)(const float* a, int64_t row_stride, int64_t k_stride, const float* panel, int64_t kc,
                            float* c, int64_t ldc, int64_t cols, int32_t accumulate);
struct product_kernels {
  int64_t tile_rows, panel_width;
  tile_kernel tiles[MAX_TILE_ROWS + 1];
};
typedef void (*column_kernel)(void* const* args, int64_t j0, int64_t j1);

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Panels [p0, p1) of C = op(A) * packed (panels of the kernels' width, k x
 * width each), all of K per call so that every element sums its products in
 * k order whatever the batch: a row's result does not depend on the rows
 * beside it. The epilogue runs on each panel's columns once they are final. */
struct product {
  const float* a;
  const float* packed;
  float* c;
  int64_t m, n, k;
  int32_t ta;
  const struct product_kernels* kernels;
  column_kernel epilogue;
  void* const* args;
};

/* Rows [r0, r1) of panels [p0, p1); the epilogue only when the rows are all of them. */
static void product_block(const struct product* p, int64_t p0, int64_t p1, int64_t r0, int64_t r1) {
  int64_t width = p->kernels->panel_width, rows_per_tile = p->kernels->tile_rows;
  int64_t m = p->m, n = p->n, k = p->k;
  int64_t row_stride = p->ta ? 1 : k, k_stride = p->ta ? m : 1;
  for (int64_t q = p0; q < p1; ++q) {
    int64_t j0 = q * width, cols = min64(width, n - j0);
    int64_t tiles_left = (r1 - r0 + rows_per_tile - 1) / rows_per_tile;
    for (int64_t i = r0, rows; i < r1; i += rows, --tiles_left) {
      rows = (r1 - i + tiles_left - 1) / tiles_left; /* spread evenly: 32 rows on 12 as 11+11+10 */
      if (k == 0) {
        for (int64_t r = 0; r < rows; ++r) memset(p->c + (i + r) * n + j0, 0, (size_t)cols * sizeof(float));
        continue;
      }
      p->kernels->tiles[rows](p->a + i * row_stride, row_stride, k_stride, p->packed + q * k * width, k,
                              p->c + i * n + j0, n, cols, 0);
    }
    if (p->epilogue && r0 == 0 && r1 == m) p->epilogue(p->args, j0, j0 + cols);
  }
}

static void product_panels(const struct product* p, int64_t p0, int64_t p1) { product_block(p, p0, p1, 0, p->m); }

/* ---- the team: threads that claim chunks of a product ----
 * The caller publishes a job (the product cut into chunks: whole panels, or
 * blocks of rows for a product of fewer panels than threads) and claims
 * chunks itself, as the workers do. A chunk is computed whole by whoever
 * claims it, so the bits do not depend on who. The caller waits only for
 * chunks another thread has claimed, never for a worker to wake up: on a busy
 * machine, where a worker may not run for a scheduler quantum, the caller
 * does the work itself, so two threads are never much slower than one.
 * Workers spin a while for the next job (the next product of a step comes
 * within microseconds), then sleep on a futex, so an idle library costs no
 * CPU. One caller at a time: a caller that finds the team busy (another
 * thread generating) runs its product alone. */
#define MAX_THREADS 64
#define SPINS_BEFORE_SLEEP 20000
#define CHUNKS_PER_THREAD 4

struct team {
  int workers;          /* started, beside the caller */
  int active;           /* of those taking part (threads asked for - 1) */
  pthread_t ids[MAX_THREADS];
  atomic_uint job;      /* the current job's number (the futex word) */
  atomic_int sleepers;  /* workers asleep on `job` */
  atomic_uint_fast64_t claim; /* (job number << 32) | the next unclaimed chunk */
  atomic_long done;     /* chunks of the current job finished */
  atomic_int busy;      /* a caller owns the team */
  int stop;
  struct product product;
  int64_t panels, chunks, per_chunk;
  int split_rows;       /* chunks are blocks of rows (the epilogue after the join), not panels */
};

static struct team team;

static void run_chunk(int64_t c) {
  int64_t lo = c * team.per_chunk;
  if (team.split_rows) product_block(&team.product, 0, team.panels, lo, min64(lo + team.per_chunk, team.product.m));
  else product_panels(&team.product, lo, min64(lo + team.per_chunk, team.panels));
}

/* Claims and runs chunks of job `job` until none is left (or the job is over). */
static void run_chunks(unsigned job) {
  for (;;) {
    uint64_t v = atomic_load_explicit(&team.claim, memory_order_acquire);
    if ((unsigned)(v >> 32) != job || (int64_t)(v & 0xffffffffu) >= team.chunks) return;
    /* A stale team.chunks (the job moved on) only leads to a failed exchange. */
    if (!atomic_compare_exchange_weak_explicit(&team.claim, &v, v + 1, memory_order_acq_rel, memory_order_relaxed))
      continue;
    run_chunk((int64_t)(v & 0xffffffffu));
    atomic_fetch_add_explicit(&team.done, 1, memory_order_release);
  }
}

/* arg: the worker's number (1..) and, above bit 32, the job number when it
 * was started. */
static void* worker_main(void* arg) {
  int part = (int)((uintptr_t)arg & 0xffffffffu);
  unsigned seen = (unsigned)((uintptr_t)arg >> 32);
  for (;;) {
    unsigned now;
    int spins = 0;
    while ((now = atomic_load_explicit(&team.job, memory_order_acquire)) == seen) {
      if (++spins < SPINS_BEFORE_SLEEP) {
        __builtin_ia32_pause();
        continue;
      }
      atomic_fetch_add(&team.sleepers, 1);
      syscall(SYS_futex, &team.job, FUTEX_WAIT_PRIVATE, seen, 0, 0, 0);
      atomic_fetch_sub(&team.sleepers, 1);
      spins = 0;
    }
    seen = now;
    if (team.stop) return 0;
    if (part <= team.active) run_chunks(now);
  }
}

static void lock_team(void) {
  int expected = 0;
  while (!atomic_compare_exchange_weak(&team.busy, &expected, 1)) expected = 0;
}

/* Publishes the job described in `team`, takes part, and returns when every chunk is done. */
static void run_job_and_wait(void) {
  unsigned job = atomic_load_explicit(&team.job, memory_order_relaxed) + 1;
  atomic_store_explicit(&team.done, 0, memory_order_relaxed);
  atomic_store_explicit(&team.claim, (uint64_t)job << 32, memory_order_release);
  atomic_store(&team.job, job); /* sequentially consistent: orders the sleepers load below */
  if (atomic_load(&team.sleepers) > 0) syscall(SYS_futex, &team.job, FUTEX_WAKE_PRIVATE, MAX_THREADS, 0, 0, 0);
  run_chunks(job);
  while (atomic_load_explicit(&team.done, memory_order_acquire) < team.chunks) __builtin_ia32_pause();
}

/* Threads the products may use from now on, the caller included (1: only
 * the caller). Returns how many it has (fewer if threads cannot be started). */
int graphc_program_set_threads(int threads) {
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  lock_team();
  while (team.workers < threads - 1 && !team.stop) {
    uintptr_t arg = (uintptr_t)(team.workers + 1) | ((uintptr_t)atomic_load(&team.job) << 32);
    if (pthread_create(&team.ids[team.workers + 1], 0, worker_main, (void*)arg) != 0) break;
    ++team.workers;
  }
  team.active = threads - 1 < team.workers ? threads - 1 : team.workers;
  int have = team.active + 1;
  atomic_store(&team.busy, 0);
  return have;
}

/* Stops and joins the workers (the JIT calls it before unloading the code they run). */
void graphc_program_stop_threads(void) {
  lock_team();
  team.stop = 1;
  atomic_fetch_add(&team.job, 1);
  syscall(SYS_futex, &team.job, FUTEX_WAKE_PRIVATE, MAX_THREADS, 0, 0, 0);
  for (int t = 1; t <= team.workers; ++t) pthread_join(team.ids[t], 0);
  team.workers = team.active = 0;
  atomic_store(&team.busy, 0);
}

/* Splits a product over the team when it is big enough to repay the hand-off
 * (a few hundred nanoseconds): by panels, or, with fewer panels than threads
 * but rows enough (the logits of a batch), by rows with the epilogue after
 * the join. Else it runs here. */
static void run_product(const struct product* p) {
  int64_t panels = (p->n + p->kernels->panel_width - 1) / p->kernels->panel_width;
  int split_rows = panels <= team.active && p->m >= 2 * p->kernels->tile_rows;
  int expected = 0;
  if (team.active < 1 || (panels < 2 && !split_rows) || p->m * p->n * p->k < (1 << 16) ||
      !atomic_compare_exchange_strong(&team.busy, &expected, 1)) {
    product_panels(p, 0, panels);
    return;
  }
  int64_t wanted = CHUNKS_PER_THREAD * (team.active + 1);
  team.product = *p;
  team.panels = panels;
  team.split_rows = split_rows;
  if (split_rows) { /* blocks of whole tiles */
    int64_t tiles = (p->m + p->kernels->tile_rows - 1) / p->kernels->tile_rows;
    team.per_chunk = (tiles + wanted - 1) / wanted * p->kernels->tile_rows;
    team.chunks = (p->m + team.per_chunk - 1) / team.per_chunk;
  } else {
    team.per_chunk = (panels + wanted - 1) / wanted;
    team.chunks = (panels + team.per_chunk - 1) / team.per_chunk;
  }
  run_job_and_wait();
  atomic_store(&team.busy, 0);
  if (split_rows && p->epilogue)
    for (int64_t q = 0; q < panels; ++q) {
      int64_t j0 = q * p->kernels->panel_width;
      p->epilogue(p->args, j0, j0 + min64(p->kernels->panel_width, p->n - j0));
    }
}

static void packed_product(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k, int32_t ta,
                           const struct product_kernels* kernels, column_kernel epilogue, void* const* args) {
  struct product p = {a, packed, c, m, n, k, ta, kernels, epilogue, args};
  run_product(&p);
}

void graphc_rt_packed_matmul(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k, int32_t ta,
                             const struct product_kernels* kernels) {
  packed_product(a, packed, c, m, n, k, ta, kernels, 0, 0);
}

void graphc_rt_packed_matmul_epilogue(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k,
                                      int32_t ta, const struct product_kernels* kernels, column_kernel epilogue,
                                      void* const* args) {
  packed_product(a, packed, c, m, n, k, ta, kernels, epilogue, args);
}

/* An unpacked product (a right operand that is not a parameter): plain loops
 * in k order per element, like the micro-kernels. */
void graphc_rt_matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, int32_t ta, int32_t tb,
                      const struct product_kernels* kernels) {
  (void)kernels;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int64_t kk = 0; kk < k; ++kk)
        sum = __builtin_fmaf(ta ? a[kk * m + i] : a[i * k + kk], tb ? b[j * k + kk] : b[kk * n + j], sum);
      c[i * n + j] = sum;
    }
}

void graphc_rt_pack_panels(const float* b, float* packed, int64_t k, int64_t n, int32_t tb, int64_t width) {
  for (int64_t p = 0; p * width < n; ++p)
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < width; ++j) {
        int64_t col = p * width + j;
        packed[(p * k + kk) * width + j] = col >= n ? 0.0f : tb ? b[col * k + kk] : b[kk * n + col];
      }
}

void graphc_rt_parallel_columns(column_kernel kernel, void* const* args, int64_t cols) { kernel(args, 0, cols); }

void graphc_rt_fill(uint32_t* out, int64_t n, uint32_t bits) {
  for (int64_t i = 0; i < n; ++i) out[i] = bits;
}

void graphc_rt_copy(void* out, const void* in, int64_t bytes) { memmove(out, in, (size_t)bytes); }

/* desc = {rank, base, dims[rank], strides[rank]}; elements in row-major order
 * of dims, the innermost dimension moved as one run. */
static void strided_copy(const uint32_t* in, uint32_t* out, const int64_t* desc, int scatter) {
  int64_t rank = desc[0], base = desc[1];
  const int64_t* dims = desc + 2;
  const int64_t* strides = desc + 2 + rank;
  int64_t inner = rank > 0 ? dims[rank - 1] : 1, inner_stride = rank > 0 ? strides[rank - 1] : 1;
  int64_t outer = 1;
  for (int64_t d = 0; d + 1 < rank; ++d) outer *= dims[d];
  for (int64_t o = 0; o < outer; ++o) {
    int64_t offset = base, rest = o;
    for (int64_t d = rank - 2; d >= 0; --d) {
      offset += rest % dims[d] * strides[d];
      rest /= dims[d];
    }
    for (int64_t i = 0; i < inner; ++i) {
      if (scatter) out[offset + i * inner_stride] = in[o * inner + i];
      else out[o * inner + i] = in[offset + i * inner_stride];
    }
  }
}

void graphc_rt_gather_strided(const uint32_t* in, uint32_t* out, const int64_t* desc) { strided_copy(in, out, desc, 0); }
void graphc_rt_scatter_strided(const uint32_t* in, uint32_t* out, const int64_t* desc) { strided_copy(in, out, desc, 1); }

/* The row kernels a step with layer norms or attention calls, one thread:
 * the same C (rows.c) as the JIT's (whose build may fuse a*b+c into FMAs). */
void graphc_rt_reduce(const void* in, void* out, const int64_t* desc) { (void)graphc_rows_reduce(in, out, desc); }

void graphc_rt_argmax(const void* in, int32_t* out, int64_t outer, int64_t len, int64_t inner, int32_t is_int) {
  graphc_rows_argmax(in, out, outer, len, inner, is_int);
}

void graphc_rt_log_softmax(const float* in, float* out, int64_t rows, int64_t width) {
  graphc_rows_log_softmax(in, out, 0, rows, width);
}

void graphc_rt_softmax_cross_entropy(const float* logits, const int32_t* labels, float* out, int64_t rows,
                                     int64_t width) {
  (void)graphc_rows_softmax_cross_entropy(logits, labels, out, 0, rows, width);
}

static float float_from_bits(uint32_t bits) {
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

void graphc_rt_attention(const float* q, const float* k, const float* v, float* out, int64_t entries, int64_t t,
                         int64_t d, uint32_t scale_bits, int32_t causal) {
  (void)graphc_attention_forward(q, k, v, out, 0, entries, t, d, float_from_bits(scale_bits), causal);
}

void graphc_rt_attention_grad(const float* q, const float* k, const float* v, const float* y, const float* dy,
                              float* grads, int64_t entries, int64_t t, int64_t d, uint32_t scale_bits, int32_t causal) {
  (void)graphc_attention_backward(q, k, v, y, dy, grads, entries, 0, entries, t, d, float_from_bits(scale_bits), causal);
}

void graphc_rt_iota(int32_t* out, int64_t n, int64_t len, int64_t inner) {
  for (int64_t i = 0; i < n; ++i) out[i] = (int32_t)((i / inner) % len);
}

void graphc_rt_one_hot(const int32_t* idx, float* out, int64_t n, int64_t depth) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < depth; ++d) out[i * depth + d] = idx[i] == d ? 1.0f : 0.0f;
}

void graphc_rt_random_uniform(const int32_t* key, float* out, int64_t n, int64_t cols, int64_t stream) {
  for (int64_t i = 0; i < n; ++i) out[i] = graphc_random_uniform_element(key, (uint64_t)stream, cols, i);
}

/* A generation program is one process: the sum over processes is the value itself. */
void graphc_rt_all_reduce(const float* in, float* out, int64_t n) {
  if (in != out) memmove(out, in, (size_t)n * sizeof(float));
}

void graphc_rt_scatter_add_rows(const float* updates, const int32_t* idx, float* out, int64_t n, int64_t width,
                                int64_t rows, int32_t zero_out_of_range) {
  (void)zero_out_of_range; /* an index out of range adds nothing, as in the JIT's */
  memset(out, 0, (size_t)(rows * width) * sizeof(float));
  for (int64_t i = 0; i < n; ++i) {
    if (idx[i] < 0 || idx[i] >= rows) continue;
    float* row = out + (int64_t)idx[i] * width;
    const float* update = updates + i * width;
    for (int64_t c = 0; c < width; ++c) row[c] += update[c];
  }
}

void graphc_rt_gather_rows(const float* table, const int32_t* idx, float* out, int64_t n, int64_t width, int64_t rows,
                           int32_t zero_out_of_range) {
  (void)zero_out_of_range;
  for (int64_t i = 0; i < n; ++i) {
    if (idx[i] < 0 || idx[i] >= rows) memset(out + i * width, 0, (size_t)width * sizeof(float));
    else memcpy(out + i * width, table + (int64_t)idx[i] * width, (size_t)width * sizeof(float));
  }
}
