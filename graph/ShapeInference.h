// graph/ShapeInference.h — the type rule of every op.
#pragma once

#include <vector>

#include "graph/Attr.h"
#include "graph/Op.h"
#include "graph/Types.h"

namespace graphc {

// The result type of `op` applied to operands of these types. Leaves have no
// rule of their own: their declared type is checked and returned. Throws
// graphc::Error with a message (without location) when the op does not accept
// the operands or attributes.
TensorType inferType(OpKind op, const std::vector<TensorType>& operands, const Attrs& attrs,
                     const TensorType& declared);

// Element count of a shape; throws when a dimension is negative or the count
// exceeds kMaxElements.
int64_t checkedNumElements(const Shape& s);

}  // namespace graphc
