// graph/PackedLayout.h — the layout of a `pack_panels` result, shared by the
// shape rules, the interpreter and the JIT's product driver.
//
// pack_panels(B) {panel_width = W, transpose = t} holds op(B) (k x n; op
// transposes when t = 1) as f32[ceil(n / W), k, W]:
// packed[p][k][j] = op(B)[k][W p + j], zero past n. The width is the target's
// choice (codegen/Target.h: the columns its product micro-kernel covers); the
// IR only records it.
#pragma once

#include <cstdint>

namespace graphc {

inline constexpr int64_t kMaxPanelWidth = 256;

inline int64_t panelCount(int64_t n, int64_t width) { return (n + width - 1) / width; }
inline int64_t packedElements(int64_t k, int64_t n, int64_t width) { return panelCount(n, width) * k * width; }

}  // namespace graphc
