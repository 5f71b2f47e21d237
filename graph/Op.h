// graph/Op.h — OpKind and its traits, generated from Op.def.
#pragma once

#include <optional>
#include <string_view>

namespace graphc {

enum OpTrait : unsigned {
  kLeaf = 1u << 0,         // no operands; part of the signature or a constant
  kPure = 1u << 1,         // no side effects: may be CSE'd and removed when dead
  kElementwise = 1u << 2,  // output[i] depends only on operands[i]; same shapes
  kCommutative = 1u << 3,  // binary and order-free
  kReduction = 1u << 4,    // reduces over an `axes` attribute
};

enum class OpKind {
#define GRAPHC_OP(Enum, Name, Arity, Traits) Enum,
#include "graph/Op.def"
#undef GRAPHC_OP
};

std::string_view opName(OpKind k);
int opArity(OpKind k);  // -1: variadic
unsigned opTraits(OpKind k);
inline bool hasTrait(OpKind k, OpTrait t) { return (opTraits(k) & t) != 0; }
std::optional<OpKind> opFromName(std::string_view name);

}  // namespace graphc
