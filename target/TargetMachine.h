// target/TargetMachine.h — the LLVM side of a Target: its TargetMachine and
// the function attributes that make LLVM generate code for it.
#pragma once

#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>
#include <memory>

#include "target/Target.h"

namespace graphc {

// Registers the native target, its assembly printer and parser (once).
void initializeLlvmTargets();

// positionIndependent: code for a static library that executables (PIE by
// default on Debian) link; the JIT does not need it.
std::unique_ptr<llvm::TargetMachine> createTargetMachine(const Target& target, bool positionIndependent = false);

// Sets the module's triple and data layout, and tags every defined function
// with the target's CPU, features and preferred vector width (LLVM's default
// tuning prefers 256-bit vectors even where AVX-512 exists).
void setTargetAttributes(llvm::Module& m, llvm::TargetMachine& tm, const Target& target);

}  // namespace graphc
