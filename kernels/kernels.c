/* kernels/kernels.c — the runtime kernels but the products (product.c): data
 * movement, index-heavy ops as plain loops, and the row arithmetic of rows.c
 * and attention.c split over the team. Each output element belongs to one
 * range, so the bits do not depend on the threads. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "attention.h"
#include "graph/counter_random.h"
#include "rows.h"
#include "runtime_kernels.h"
#include "team.h"

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- errors: the first since the last take, whichever thread records it ---- */
static atomic_int error_state; /* 0 none, 1 being written, 2 recorded */
static char error_text[256];

void graphc_kernel_error(const char* format, ...) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&error_state, &expected, 1)) return;
  va_list args;
  va_start(args, format);
  vsnprintf(error_text, sizeof error_text, format, args);
  va_end(args);
  atomic_store(&error_state, 2);
}

int graphc_kernel_take_error(char* out, int64_t size) {
  if (atomic_load(&error_state) != 2) return 0;
  snprintf(out, (size_t)size, "%s", error_text);
  atomic_store(&error_state, 0);
  return 1;
}

/* ---- the processes of a distributed run ---- */
static _Atomic(graphc_all_reduce_fn) all_reduce_sum;

void graphc_set_all_reduce(graphc_all_reduce_fn fn) { atomic_store(&all_reduce_sum, fn); }
graphc_all_reduce_fn graphc_all_reduce(void) { return atomic_load(&all_reduce_sum); }

void graphc_rt_all_reduce(const float* in, float* out, int64_t n) {
  if (in != out) memmove(out, in, (size_t)n * sizeof(float));
  graphc_all_reduce_fn fn = atomic_load(&all_reduce_sum);
  if (fn) fn(out, n);
}

/* ---- fused loops over columns ---- */
struct columns {
  graphc_column_kernel kernel;
  void* const* args;
  int64_t cols;
};

/* Groups of 16 columns: whole vectors, and no two threads in one cache line of a row. */
#define COLUMN_GRAIN 16

static void column_range(void* ctx, int slot, int64_t g0, int64_t g1) {
  const struct columns* c = (const struct columns*)ctx;
  (void)slot;
  c->kernel(c->args, g0 * COLUMN_GRAIN, min64(c->cols, g1 * COLUMN_GRAIN));
}

void graphc_rt_parallel_columns(graphc_column_kernel kernel, void* const* args, int64_t cols) {
  struct columns c = {kernel, args, cols};
  graphc_team_ranges((cols + COLUMN_GRAIN - 1) / COLUMN_GRAIN, 1, column_range, &c);
}

/* ---- data movement ---- */
void graphc_rt_fill(uint32_t* out, int64_t n, uint32_t bits) {
  for (int64_t i = 0; i < n; ++i) out[i] = bits;
}

void graphc_rt_copy(void* out, const void* in, int64_t bytes) {
  if (out != in) memmove(out, in, (size_t)bytes);
}

/* out[i] = in[base + offset(i)] (gather) or out[base + offset(i)] = in[i]
 * (scatter) over desc's dims and strides, the innermost dimension moved as
 * one run (one memcpy when it is contiguous: concat, slice and pad spend
 * their time here). */
static void strided_copy(const uint32_t* in, uint32_t* out, const int64_t* desc, int scatter) {
  int64_t rank = desc[0], offset = desc[1];
  const int64_t* dims = desc + 2;
  const int64_t* strides = desc + 2 + rank;
  int64_t inner = rank > 0 ? dims[rank - 1] : 1, inner_stride = rank > 0 ? strides[rank - 1] : 1, outer = 1;
  for (int64_t d = 0; d + 1 < rank; ++d) outer *= dims[d];
  if (outer == 0 || inner == 0) return;
  int64_t idx[16] = {0};
  for (int64_t o = 0; o < outer; ++o) {
    const uint32_t* src = scatter ? in + o * inner : in + offset;
    uint32_t* dst = scatter ? out + offset : out + o * inner;
    if (inner_stride == 1) memcpy(dst, src, (size_t)inner * 4);
    else if (scatter)
      for (int64_t i = 0; i < inner; ++i) dst[i * inner_stride] = src[i];
    else
      for (int64_t i = 0; i < inner; ++i) dst[i] = src[i * inner_stride];
    for (int64_t d = rank - 2; d >= 0; --d) { /* the next outer index, as an odometer */
      offset += strides[d];
      if (++idx[d] < dims[d]) break;
      offset -= strides[d] * dims[d];
      idx[d] = 0;
    }
  }
}

void graphc_rt_gather_strided(const uint32_t* in, uint32_t* out, const int64_t* desc) { strided_copy(in, out, desc, 0); }
void graphc_rt_scatter_strided(const uint32_t* in, uint32_t* out, const int64_t* desc) { strided_copy(in, out, desc, 1); }

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

void graphc_rt_gather_rows(const float* table, const int32_t* idx, float* out, int64_t n, int64_t width, int64_t rows,
                           int32_t zero_out_of_range) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = idx[i];
    if (r >= 0 && r < rows) {
      memcpy(out + i * width, table + r * width, (size_t)width * sizeof(float));
      continue;
    }
    if (!zero_out_of_range) graphc_kernel_error("gather index %lld out of range [0, %lld)", (long long)r, (long long)rows);
    memset(out + i * width, 0, (size_t)width * sizeof(float));
  }
}

void graphc_rt_scatter_add_rows(const float* updates, const int32_t* idx, float* out, int64_t n, int64_t width,
                                int64_t rows, int32_t zero_out_of_range) {
  memset(out, 0, (size_t)(rows * width) * sizeof(float));
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = idx[i];
    if (r < 0 || r >= rows) {
      if (!zero_out_of_range)
        graphc_kernel_error("scatter_add index %lld out of range [0, %lld)", (long long)r, (long long)rows);
      continue;
    }
    float* row = out + r * width;
    const float* update = updates + i * width;
    for (int64_t c = 0; c < width; ++c) row[c] += update[c];
  }
}

/* ---- reductions and rows ---- */
struct column_sums {
  const float* in;
  float* out;
  int64_t rows, cols;
};

#define SUM_COLUMN_GRAIN 64

static void column_sums_range(void* ctx, int slot, int64_t g0, int64_t g1) {
  const struct column_sums* s = (const struct column_sums*)ctx;
  (void)slot;
  graphc_rows_column_sums(s->in, s->out, s->rows, s->cols, g0 * SUM_COLUMN_GRAIN, min64(s->cols, g1 * SUM_COLUMN_GRAIN));
}

void graphc_rt_reduce(const void* in, void* out, const int64_t* desc) {
  int64_t rows = 0, cols = 0;
  if (graphc_rows_leading_sum(desc, &rows, &cols) && cols > 1 && rows * cols >= ((int64_t)1 << 17)) {
    /* A big float sum over leading axes (a bias gradient over all steps): column
     * ranges over the threads, each column summed in row order whoever takes it. */
    struct column_sums s = {(const float*)in, (float*)out, rows, cols};
    graphc_team_ranges((cols + SUM_COLUMN_GRAIN - 1) / SUM_COLUMN_GRAIN, 1, column_sums_range, &s);
    return;
  }
  if (graphc_rows_reduce(in, out, desc) != 0) graphc_kernel_error("reduce: out of memory for its accumulators");
}

void graphc_rt_sum_squares(const float* in, float* out, int64_t n) { *out = (float)graphc_rows_sum_squares(in, n); }

void graphc_rt_argmax(const void* in, int32_t* out, int64_t outer, int64_t len, int64_t inner, int32_t is_int) {
  graphc_rows_argmax(in, out, outer, len, inner, is_int);
}

struct softmax_rows {
  const float* in;
  const int32_t* labels;
  float* out;
  int64_t width;
};

/* Rows per range: split over the threads only when the whole is big enough
 * to repay the hand-off (the loss over all steps). */
static int64_t row_grain(int64_t rows, int64_t width) { return rows * width >= ((int64_t)1 << 14) ? 64 : rows; }

static void log_softmax_range(void* ctx, int slot, int64_t r0, int64_t r1) {
  const struct softmax_rows* s = (const struct softmax_rows*)ctx;
  (void)slot;
  graphc_rows_log_softmax(s->in, s->out, r0, r1, s->width);
}

void graphc_rt_log_softmax(const float* in, float* out, int64_t rows, int64_t width) {
  struct softmax_rows s = {in, 0, out, width};
  graphc_team_ranges(rows, row_grain(rows, width), log_softmax_range, &s);
}

static void cross_entropy_range(void* ctx, int slot, int64_t r0, int64_t r1) {
  const struct softmax_rows* s = (const struct softmax_rows*)ctx;
  (void)slot;
  int64_t bad = graphc_rows_softmax_cross_entropy(s->in, s->labels, s->out, r0, r1, s->width);
  if (bad >= 0)
    graphc_kernel_error("softmax_cross_entropy label %d out of range [0, %lld)", s->labels[bad], (long long)s->width);
}

void graphc_rt_softmax_cross_entropy(const float* logits, const int32_t* labels, float* out, int64_t rows,
                                     int64_t width) {
  struct softmax_rows s = {logits, labels, out, width};
  graphc_team_ranges(rows, row_grain(rows, width), cross_entropy_range, &s);
}

/* ---- attention: an entry (batch, head) per range element ---- */
struct attention {
  const float *q, *k, *v, *y, *dy;
  float* out;
  int64_t entries, t, d;
  float scale;
  int32_t causal;
};

static float float_from_bits(uint32_t bits) {
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static void attention_range(void* ctx, int slot, int64_t e0, int64_t e1) {
  const struct attention* a = (const struct attention*)ctx;
  (void)slot;
  if (graphc_attention_forward(a->q, a->k, a->v, a->out, e0, e1, a->t, a->d, a->scale, a->causal) != 0)
    graphc_kernel_error("attention: out of memory for its scratch rows");
}

void graphc_rt_attention(const float* q, const float* k, const float* v, float* out, int64_t entries, int64_t t,
                         int64_t d, uint32_t scale_bits, int32_t causal) {
  struct attention a = {q, k, v, 0, 0, out, entries, t, d, float_from_bits(scale_bits), causal};
  graphc_team_ranges(entries, 1, attention_range, &a);
}

static void attention_grad_range(void* ctx, int slot, int64_t e0, int64_t e1) {
  const struct attention* a = (const struct attention*)ctx;
  (void)slot;
  if (graphc_attention_backward(a->q, a->k, a->v, a->y, a->dy, a->out, a->entries, e0, e1, a->t, a->d, a->scale,
                                a->causal) != 0)
    graphc_kernel_error("attention_grad: out of memory for its scratch rows");
}

void graphc_rt_attention_grad(const float* q, const float* k, const float* v, const float* y, const float* dy,
                              float* grads, int64_t entries, int64_t t, int64_t d, uint32_t scale_bits, int32_t causal) {
  struct attention a = {q, k, v, y, dy, grads, entries, t, d, float_from_bits(scale_bits), causal};
  graphc_team_ranges(entries, 1, attention_grad_range, &a);
}
