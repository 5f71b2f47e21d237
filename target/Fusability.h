// target/Fusability.h — the one rule for what may stand in a fused kernel.
// The verifier checks fused bodies with it, the `fuse` pass asks it before
// absorbing a producer, and codegen asks it before emitting a body, so the
// three cannot disagree (a body the verifier accepts is one codegen emits).
#pragma once

#include <optional>
#include <string>

#include "graph/Graph.h"
#include "target/KernelShape.h"

namespace graphc {

// Why node `n` of graph `g` (a fused body, or the graph a kernel is being
// formed in) cannot be part of a kernel whose output is `kernelShape`, or
// nullopt when it can (callers skip a body's inputs: they are the kernel's
// operands). It follows the op's fusion class in Op.def: elementwise ops over the kernel's shape,
// constants, broadcasts whose operand the loop can index (scalar, row,
// column or full), 2-d slices of the kernel's shape (read in place), row
// gathers that read zeros for bad indices.
std::optional<std::string> kernelMemberRefusal(const Graph& g, const Node& n, const Shape& kernelShape);

// A concatenated kernel: its body's result is a concat along the columns of
// 2-d pieces, each computed by a loop of its own over its columns of the
// result (the fuse pass makes one of a column concatenation of kernels). The
// root concat, or nullptr for a plain kernel.
const Node* columnConcatRoot(const Graph& body);

// The shape each node of a fused body is computed over: the kernel's, or in a
// concatenated kernel the shape of the piece whose loop computes it (a node no
// piece reads gets the kernel's). Members are checked against it.
std::vector<Shape> memberShapes(const Graph& body);

// Whether the node right after `product` can run as its epilogue (inside the
// product, on each thread's columns as soon as they are done): a packed
// product with one use, and that use the fused kernel right after it over the
// same 2-d shape. `fuse` marks such a kernel {epilogue = 1}; planning and
// codegen read the mark, and the verifier checks that it holds.
bool isEpiloguePair(const Graph& g, ValueId product, const std::vector<int>& uses);

}  // namespace graphc
