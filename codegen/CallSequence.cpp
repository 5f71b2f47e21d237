// codegen/CallSequence.cpp — finding runs of repeated calls, and emitting them
// as loops over the induction variable.
#include "codegen/CallSequence.h"

#include <algorithm>
#include <llvm/IR/MDBuilder.h>

namespace graphc {
namespace {

// The longest body graphc looks for: a GRU or LSTM step of a stacked model is
// a few dozen calls; longer bodies are not worth the search.
constexpr int64_t kMaxBody = 96;

// The per-argument strides (in bytes) from call `a` to call `b`, or false
// when they are not the same call up to arena offsets.
bool stridesBetween(const EntryCall& a, const EntryCall& b, std::vector<int64_t>& strides) {
  if (a.callee != b.callee || a.args.size() != b.args.size()) return false;
  strides.clear();
  for (size_t k = 0; k < a.args.size(); ++k) {
    const CallArg &x = a.args[k], &y = b.args[k];
    if (x.kind != y.kind) return false;
    switch (x.kind) {
      case CallArg::Kind::Constant:
        if (x.value != y.value) return false;  // LLVM uniques constants: equal values are one object
        break;
      case CallArg::Kind::Arena: strides.push_back(y.offset - x.offset); break;
      case CallArg::Kind::PointerArray:
        if (x.offsets.size() != y.offsets.size()) return false;
        for (size_t i = 0; i < x.offsets.size(); ++i) strides.push_back(y.offsets[i] - x.offsets[i]);
        break;
    }
  }
  return true;
}

struct Run {
  int64_t body = 0, repetitions = 0;
  std::vector<std::vector<int64_t>> strides;  // per body call
};

// The best run starting at `p`: the body length L and the repetitions n that
// cover the most calls (n >= 2), each repetition's offsets a fixed stride
// past the previous one's.
Run findRun(const std::vector<EntryCall>& calls, size_t p) {
  Run best;
  const int64_t left = int64_t(calls.size() - p);
  std::vector<std::vector<int64_t>> strides, next;
  for (int64_t L = 1; L <= std::min(kMaxBody, left / 2); ++L) {
    // Repetition 1 against repetition 0 fixes the strides ...
    strides.assign(size_t(L), {});
    bool ok = true;
    for (int64_t j = 0; j < L && ok; ++j) ok = stridesBetween(calls[p + j], calls[p + L + j], strides[size_t(j)]);
    if (!ok) continue;
    // ... and every later one must repeat them.
    int64_t n = 2;
    next.assign(size_t(L), {});
    for (; (n + 1) * L <= left; ++n) {
      bool same = true;
      for (int64_t j = 0; j < L && same; ++j)
        same = stridesBetween(calls[p + (n - 1) * L + j], calls[p + n * L + j], next[size_t(j)]) &&
               next[size_t(j)] == strides[size_t(j)];
      if (!same) break;
    }
    if (n * L > best.repetitions * best.body) best = {L, n, strides};
  }
  return best;
}

class Emitter {
 public:
  Emitter(llvm::IRBuilder<>& b, llvm::Function* entry) : b_(b), entry_(entry) {}

  // One call; arena offsets advance by `i * strides` when `i` is given.
  void emit(const EntryCall& c, llvm::Value* i = nullptr, const std::vector<int64_t>* strides = nullptr) {
    std::vector<llvm::Value*> args;
    size_t s = 0;
    auto at = [&](int64_t offset) -> llvm::Value* {
      llvm::Value* off = b_.getInt64(uint64_t(offset));
      if (i) {
        int64_t stride = (*strides)[s++];
        if (stride != 0) off = b_.CreateAdd(off, b_.CreateMul(i, b_.getInt64(uint64_t(stride))));
      }
      return b_.CreateInBoundsGEP(b_.getInt8Ty(), entry_->getArg(0), off);
    };
    for (const CallArg& a : c.args) {
      switch (a.kind) {
        case CallArg::Kind::Constant: args.push_back(a.value); break;
        case CallArg::Kind::Arena: args.push_back(at(a.offset)); break;
        case CallArg::Kind::PointerArray: {
          auto* type = llvm::ArrayType::get(b_.getPtrTy(), a.offsets.size());
          llvm::IRBuilder<> atEntry(&entry_->getEntryBlock(), entry_->getEntryBlock().begin());
          llvm::Value* array = atEntry.CreateAlloca(type, nullptr, "args");
          for (size_t k = 0; k < a.offsets.size(); ++k)
            b_.CreateStore(at(a.offsets[k]), b_.CreateConstInBoundsGEP2_64(type, array, 0, k));
          args.push_back(array);
          break;
        }
      }
    }
    b_.CreateCall(c.type, c.callee, args);
  }

  void loop(const std::vector<EntryCall>& calls, size_t p, const Run& run) {
    llvm::LLVMContext& ctx = entry_->getContext();
    llvm::BasicBlock* before = b_.GetInsertBlock();
    auto* body = llvm::BasicBlock::Create(ctx, "steps", entry_);
    auto* after = llvm::BasicBlock::Create(ctx, "steps.done", entry_);
    b_.CreateBr(body);
    b_.SetInsertPoint(body);
    llvm::PHINode* i = b_.CreatePHI(b_.getInt64Ty(), 2, "step");
    for (int64_t j = 0; j < run.body; ++j) emit(calls[p + size_t(j)], i, &run.strides[size_t(j)]);
    llvm::Value* next = b_.CreateAdd(i, b_.getInt64(1), "step.next", true, true);
    auto* br = b_.CreateCondBr(b_.CreateICmpULT(next, b_.getInt64(uint64_t(run.repetitions))), body, after);
    // Keep it a loop: unrolling it again would undo the point.
    llvm::MDNode* disable =
        llvm::MDNode::get(ctx, {llvm::MDString::get(ctx, "llvm.loop.unroll.disable")});
    llvm::MDNode* loopId = llvm::MDNode::getDistinct(ctx, {nullptr, disable});
    loopId->replaceOperandWith(0, loopId);
    br->setMetadata(llvm::LLVMContext::MD_loop, loopId);
    i->addIncoming(b_.getInt64(0), before);
    i->addIncoming(next, body);
    b_.SetInsertPoint(after);
  }

 private:
  llvm::IRBuilder<>& b_;
  llvm::Function* entry_;
};

}  // namespace

std::vector<RolledRun> emitCalls(llvm::IRBuilder<>& b, llvm::Function* entry, const std::vector<EntryCall>& calls,
                                 bool reroll, int64_t minCalls) {
  Emitter emitter(b, entry);
  std::vector<RolledRun> runs;
  for (size_t p = 0; p < calls.size();) {
    if (reroll) {
      Run run = findRun(calls, p);
      if (run.repetitions >= 2 && run.repetitions * run.body >= minCalls) {
        emitter.loop(calls, p, run);
        runs.push_back({run.repetitions, run.body});
        p += size_t(run.repetitions * run.body);
        continue;
      }
    }
    emitter.emit(calls[p]);
    ++p;
  }
  return runs;
}

}  // namespace graphc
