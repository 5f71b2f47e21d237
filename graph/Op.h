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
  kBound = 1u << 5,        // bound by the executor: the graph's signature (input, param, state)
  kEffect = 1u << 6,       // talks to the world (a collective): never merged, removed or fused, and
                           // every process must run the same ones in the same order
};

// What an op may be inside a fused kernel (target/Fusability.h has the rule).
enum FusionClass {
  FuseNever,        // runs on its own
  FuseElementwise,  // an op of a kernel's body
  FuseEdge,         // copied into every kernel that reads it (constants, broadcasts)
  FuseRowGather,    // a gather with zero_out_of_range: reads table rows in the loop
};

// What codegen makes of an op outside a kernel.
enum class LoweringKind {
  Leaf,           // copied into the arena by the executor
  Fill,           // a constant: the runtime's fill
  InKernel,       // only inside a fused kernel (bare after `fuse` is an error)
  Kernel,         // a fused kernel: a generated loop function
  Product,        // a matrix product: generated micro-kernels (codegen/ProductEmitter.h)
  RuntimeKernel,  // a runtime kernel called by name (codegen/RuntimeKernels.def)
  View,           // bytes of its operand when the planner can, else a strided copy
  Copy,           // a strided copy
};
using Lower = LoweringKind;

enum class OpKind {
#define GRAPHC_OP(Enum, Name, Arity, Traits, Fusion, Lowering, Attributes) Enum,
#include "graph/Op.def"
#undef GRAPHC_OP
};

std::string_view opName(OpKind k);
int opArity(OpKind k);  // -1: variadic
unsigned opTraits(OpKind k);
FusionClass opFusion(OpKind k);
LoweringKind opLowering(OpKind k);
// Whether a node of kind k may carry the attribute `name` (Op.def's list, and
// `offset` for any op).
bool opTakesAttr(OpKind k, std::string_view name);
// Op.def's attribute names for k, space-separated.
std::string_view opAttrNames(OpKind k);
inline bool hasTrait(OpKind k, OpTrait t) { return (opTraits(k) & t) != 0; }
// An input, param or state: its bytes are written by the executor, so no pass
// may alias or fuse it.
inline bool isSignature(OpKind k) { return hasTrait(k, kBound); }
std::optional<OpKind> opFromName(std::string_view name);

}  // namespace graphc
