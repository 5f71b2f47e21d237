// graph/PackedLayout.h — the layout of a `pack_panels` result, shared by the
// shape rules, the interpreter and the JIT's product kernel.
//
// pack_panels(B) {transpose = t} holds op(B) (k x n; op transposes when t = 1)
// as f32[ceil(n / 16), k, 16]: packed[p][k][j] = op(B)[k][16p + j], zero past n.
#pragma once

#include <cstdint>

namespace graphc {

constexpr int64_t kPanelWidth = 16;

inline int64_t panelCount(int64_t n) { return (n + kPanelWidth - 1) / kPanelWidth; }

}  // namespace graphc
