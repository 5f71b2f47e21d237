// graph/Constant.h — a constant's value, held in the constant's own dtype (as
// MLIR's FloatAttr holds an f32): an f32 constant's `value` is a double that is
// exactly a float, rounded once where the constant is made (the builder, the
// parser, constant folding), so every reader sees the value the runtime uses.
#pragma once

#include "graph/Graph.h"

namespace graphc {

// The value of a `constant` node, as a double.
double constantValue(const Node& n);
// Sets n's `value` to `value` rounded to n.type's dtype (f32: to nearest;
// i32: toward zero). Throws graphc::Error when an i32 value is out of range.
void setConstantValue(Node& n, double value);
// Rounds a parsed constant's numeric `value` to its dtype; anything else is
// left for the verifier to name.
void roundParsedConstant(Node& n);

}  // namespace graphc
