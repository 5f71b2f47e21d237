// graph/TypeRules.h — the pieces graph/ShapeInference.cpp's type rules are
// made of, and the rules of the product family (graph/ProductTypeRules.cpp:
// matmul, packed products, attention, the fused output layer), which live in
// a file of their own. Internal to the type rules; everyone else calls inferType.
#pragma once

#include <string>
#include <vector>

#include "graph/Attr.h"
#include "graph/Op.h"
#include "graph/Types.h"

namespace graphc::typerules {

// Throws graphc::Error(msg): a rule's refusal, without location (the verifier adds it).
[[noreturn]] void fail(const std::string& msg);
void requireF32(const TensorType& t, const char* what);
void requireI32(const TensorType& t, const char* what);
// Elementwise operands: one type, or the message that says to broadcast.
void requireSame(const TensorType& a, const TensorType& b);
// `axis` (negative counts from the end) as 0..rank-1; throws when out of range.
int64_t normalizeAxis(int64_t axis, int64_t rank);

TensorType matMulType(const std::vector<TensorType>& in, const Attrs& attrs);
TensorType packPanelsType(const std::vector<TensorType>& in, const Attrs& attrs);
TensorType packedMatMulType(const std::vector<TensorType>& in, const Attrs& attrs);
TensorType attentionType(OpKind op, const std::vector<TensorType>& in, const Attrs& attrs);
TensorType linearCrossEntropyType(OpKind op, const std::vector<TensorType>& in, const Attrs& attrs);

}  // namespace graphc::typerules
