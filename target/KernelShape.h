// target/KernelShape.h — how a fused kernel sees its operands: the output as a
// [rows, cols] grid (cols = the last dimension) and each broadcast operand as
// a scalar, a row vector (indexed by column) or a column vector (indexed by row).
#pragma once

#include <optional>
#include <string>

#include "graph/Types.h"

namespace graphc {

enum class BroadcastPattern {
  Full,    // same shape as the output: element [r, c]
  Scalar,  // one element
  Row,     // the output's last dimension: element [c] (a bias row)
  Column,  // the output with its last dimension 1: element [r]
};

struct KernelGrid {
  int64_t rows, cols;
};

KernelGrid kernelGrid(const Shape& out);

// The pattern of broadcasting `from` to `to`, or nullopt with the reason in
// `why` when a kernel cannot index it directly.
std::optional<BroadcastPattern> classifyBroadcast(const Shape& from, const Shape& to, std::string* why = nullptr);

}  // namespace graphc
