// codegen/CallSequence.h — the entry function as a list of calls, emitted
// with its repeated runs re-rolled into loops.
//
// The graph stays unrolled over time for autodiff, batching and fusion; after
// lowering, the calls of step t and step t+1 are the same kernels with the
// same constants on buffers that sit a fixed number of bytes apart in the
// arena. A run of n repetitions of an L-call body whose arena offsets advance
// by a constant stride per repetition (per argument) is emitted as
//
//   for (i = 0; i < n; ++i) { call_0(arena + off_0 + i * stride_0, ...); ... }
//
// so the entry function, and LLVM's time on it, no longer grow with the
// sequence length. The calls and their order are unchanged: results are
// identical to the flat form, bit for bit.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>
#include <vector>

namespace graphc {

// One argument of a call in the entry function.
struct CallArg {
  enum class Kind { Arena, Constant, PointerArray };
  Kind kind = Kind::Constant;
  int64_t offset = 0;              // Arena: bytes into the arena
  llvm::Constant* value = nullptr;  // Constant: an integer, a function or a global
  std::vector<int64_t> offsets;    // PointerArray: a stack array of arena pointers

  CallArg(llvm::Constant* c) : kind(Kind::Constant), value(c) {}  // NOLINT: constants read naturally in lists
  static CallArg arena(int64_t offset) {
    CallArg a(nullptr);
    a.kind = Kind::Arena;
    a.offset = offset;
    return a;
  }
  static CallArg pointers(std::vector<int64_t> offsets) {
    CallArg a(nullptr);
    a.kind = Kind::PointerArray;
    a.offsets = std::move(offsets);
    return a;
  }
};

struct EntryCall {
  llvm::FunctionType* type;
  llvm::Value* callee;  // a kernel function of the module, or a runtime kernel's declaration
  std::vector<CallArg> args;
};

// A run that was emitted as a loop.
struct RolledRun {
  int64_t repetitions = 0;  // n
  int64_t bodyCalls = 0;    // L
};

// Emits `calls` into `entry` (whose first argument is the arena) at the
// builder's insertion point. With `reroll`, runs of at least two repetitions
// covering at least `minCalls` calls become loops; returns them.
std::vector<RolledRun> emitCalls(llvm::IRBuilder<>& b, llvm::Function* entry, const std::vector<EntryCall>& calls,
                                 bool reroll, int64_t minCalls = 8);

}  // namespace graphc
