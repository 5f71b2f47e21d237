/* codegen/portable/kernels.c — the runtime kernels a generation program
 * calls, with the signatures of codegen/RuntimeKernels.def, in plain C for a
 * program that must run without graphc's C++ runtime (an exported library,
 * and the JIT's generation program, which is the same code). One thread; the
 * products use the target's generated micro-kernels through the same table
 * as the C++ driver (codegen/ProductKernels.h). Index errors cannot be
 * reported from here: an out-of-range row reads as zeros. */
#include <stdint.h>
#include <string.h>

#define MAX_TILE_ROWS 16

typedef void (*tile_kernel)(const float* a, int64_t row_stride, int64_t k_stride, const float* panel, int64_t kc,
                            float* c, int64_t ldc, int64_t cols, int32_t accumulate);
struct product_kernels {
  int64_t tile_rows, panel_width;
  tile_kernel tiles[MAX_TILE_ROWS + 1];
};
typedef void (*column_kernel)(void* const* args, int64_t j0, int64_t j1);

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* C = op(A) * packed (panels of the kernels' width, k x width each), all of K
 * per call so that every element sums its products in k order whatever the
 * batch: a row's result does not depend on the rows beside it. */
static void packed_product(const float* a, const float* packed, float* c, int64_t m, int64_t n, int64_t k, int32_t ta,
                           const struct product_kernels* kernels, column_kernel epilogue, void* const* args) {
  int64_t width = kernels->panel_width, rows_per_tile = kernels->tile_rows;
  int64_t row_stride = ta ? 1 : k, k_stride = ta ? m : 1;
  for (int64_t p = 0; p * width < n; ++p) {
    int64_t j0 = p * width, cols = min64(width, n - j0);
    int64_t tiles_left = (m + rows_per_tile - 1) / rows_per_tile;
    for (int64_t i = 0, rows; i < m; i += rows, --tiles_left) {
      rows = (m - i + tiles_left - 1) / tiles_left; /* spread evenly: 32 rows on 12 as 11+11+10 */
      if (k == 0) {
        for (int64_t r = 0; r < rows; ++r) memset(c + (i + r) * n + j0, 0, (size_t)cols * sizeof(float));
        continue;
      }
      kernels->tiles[rows](a + i * row_stride, row_stride, k_stride, packed + p * k * width, k, c + i * n + j0, n, cols,
                           0);
    }
    if (epilogue) epilogue(args, j0, j0 + cols);
  }
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

void graphc_rt_one_hot(const int32_t* idx, float* out, int64_t n, int64_t depth) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < depth; ++d) out[i * depth + d] = idx[i] == d ? 1.0f : 0.0f;
}

void graphc_rt_gather_rows(const float* table, const int32_t* idx, float* out, int64_t n, int64_t width, int64_t rows,
                           int32_t zero_out_of_range) {
  (void)zero_out_of_range;
  for (int64_t i = 0; i < n; ++i) {
    if (idx[i] < 0 || idx[i] >= rows) memset(out + i * width, 0, (size_t)width * sizeof(float));
    else memcpy(out + i * width, table + (int64_t)idx[i] * width, (size_t)width * sizeof(float));
  }
}
