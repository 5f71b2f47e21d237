// graph/PackedLayout.h — the layout of a `pack_panels` result (graph/packed_layout.h,
// shared with the runtime kernels), for the shape rules, the evaluator and codegen.
#pragma once

#include <cstdint>

#include "graph/packed_layout.h"

namespace graphc {

inline constexpr int64_t kMaxPanelWidth = GRAPHC_MAX_PANEL_WIDTH;

inline int64_t panelCount(int64_t n, int64_t width) { return graphc_panel_count(n, width); }
inline int64_t packedElements(int64_t k, int64_t n, int64_t width) { return graphc_packed_elements(k, n, width); }

}  // namespace graphc
