// codegen/MathEmitter.h — exp, log, tanh and sigmoid as plain IR arithmetic,
// so the loop vectorizer turns them into vector code (a libm call would
// stay scalar, 35-40x slower; docs/codegen.md lists each one's accuracy).
#pragma once

#include <llvm/IR/IRBuilder.h>

namespace graphc {

// Each takes and returns an f32 value. NaN propagates (ordered compares).
llvm::Value* emitExp(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emitLog(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emitSoftplus(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emitTanh(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emitSigmoid(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emitErf(llvm::IRBuilder<>& b, llvm::Value* x);
llvm::Value* emitGelu(llvm::IRBuilder<>& b, llvm::Value* x);

}  // namespace graphc
