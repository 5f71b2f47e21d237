// target/Fusability.h — the one rule for what may stand in a fused kernel.
// The verifier checks fused bodies with it, the `fuse` pass asks it before
// absorbing a producer, and codegen asks it before emitting a body, so the
// three cannot disagree (a body the verifier accepts is one codegen emits).
#pragma once

#include <optional>
#include <string>
#include <vector>

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

// A packed product's epilogue chain: the fused kernels right after it, marked
// {epilogue = 1} by `fuse`, that codegen runs inside the product, one after
// another on each part of its columns as soon as that part is final (in L1,
// on the thread that made it). The product's n columns are n / width equal
// blocks of `width` columns (an LSTM's four gates side by side, whole panels
// each; one block when the members are as wide as the product), and the chain
// runs on columns [j0, j1) of a block once they are final in every block.
// A member computes [m, width], or is a concatenated kernel whose pieces do
// (each piece runs on its own columns [j0, j1)); it reads the product or an
// earlier member, and reads them only at the element it writes: the product
// elementwise or through a slice that is one whole block (a gate's columns),
// an earlier member elementwise (codegen runs all members in one loop over
// the elements and hands a member's value on in a register; a concatenated
// member is read by none).
//
// The width a chain on `product` gets from `member`, its first member: the
// member's columns (its pieces' in a concatenated kernel), or 0 when no chain
// can have that width (the blocks must be whole panels).
int64_t epilogueChainWidth(const Graph& g, ValueId product, const Node& member);

// Why `member` cannot join the epilogue chain of `product` that has this
// width, or nullopt when it can; chainValue marks the product and the members
// before it (indexed by ValueId).
std::optional<std::string> epilogueMemberRefusal(const Graph& g, ValueId product, const Node& member, int64_t width,
                                                 const std::vector<char>& chainValue);

}  // namespace graphc
