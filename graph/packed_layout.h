/* graph/packed_layout.h — the layout of a `pack_panels` result, in C for the
 * runtime kernels (kernels/product.c); graph/PackedLayout.h is its C++ face.
 *
 * pack_panels(B) {panel_width = W, transpose = t} holds op(B) (k x n; op
 * transposes when t = 1) as f32[ceil(n / W), k, W]:
 * packed[p][k][j] = op(B)[k][W p + j], zero past n. The width is the target's
 * choice (target/Target.h: the columns its product micro-kernel covers); the
 * IR only records it. */
#ifndef GRAPHC_GRAPH_PACKED_LAYOUT_H
#define GRAPHC_GRAPH_PACKED_LAYOUT_H

#include <stdint.h>

#define GRAPHC_MAX_PANEL_WIDTH 256

static inline int64_t graphc_panel_count(int64_t n, int64_t width) { return (n + width - 1) / width; }
static inline int64_t graphc_packed_elements(int64_t k, int64_t n, int64_t width) {
  return graphc_panel_count(n, width) * k * width;
}

#endif
