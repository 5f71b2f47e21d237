// codegen/ProductEmitter.cpp — see ProductEmitter.h. One function per tile
// height: a K loop with the R accumulators as phis, then the store.
#include "codegen/ProductEmitter.h"

#include <algorithm>
#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "codegen/ProductKernels.h"
#include "graph/Error.h"

namespace graphc {

Target withTile(Target target, ProductTile tile) {
  if (tile.rows < 1 || tile.rows > kMaxTileRows || tile.vectors < 1 || tile.vectors > 8)
    throw Error(fmt::format("tile {}x{} vectors is outside 1..{} rows and 1..8 vectors", tile.rows, tile.vectors,
                            kMaxTileRows));
  target.tile = tile;
  return target;
}

namespace {

// Rows of a tile `width` floats wide on this target: the target's own tile at
// its own width, else what the vector registers hold.
int tileRowsFor(const Target& t, int64_t width) {
  if (width == t.panelWidth()) return t.tile.rows;
  int vectors = int((width + t.lanes() - 1) / t.lanes());
  return std::clamp((t.vectorRegisters - vectors - 1) / std::max(1, vectors), 1, kMaxTileRows);
}

class TileEmitter {
 public:
  TileEmitter(llvm::Module& m, int rows, int64_t width) : m_(m), b_(m.getContext()), rows_(rows), width_(width) {}

  llvm::Function* emit() {
    // one function per rows x width in a module, whichever tables share it (a graph's two K rules)
    if (llvm::Function* existing = m_.getFunction(tileKernelName(rows_, width_))) return existing;
    llvm::LLVMContext& ctx = m_.getContext();
    llvm::Type* ptr = llvm::PointerType::getUnqual(ctx);
    llvm::Type* i64 = b_.getInt64Ty();
    auto* type = llvm::FunctionType::get(b_.getVoidTy(), {ptr, i64, i64, ptr, i64, i64, ptr, i64, i64, b_.getInt32Ty()},
                                         false);
    fn_ = llvm::Function::Create(type, llvm::Function::InternalLinkage, tileKernelName(rows_, width_), m_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    for (unsigned a : {0u, 3u, 6u}) fn_->addParamAttr(a, llvm::Attribute::NoAlias);
    vec_ = llvm::FixedVectorType::get(b_.getFloatTy(), unsigned(width_));

    auto* entry = llvm::BasicBlock::Create(ctx, "entry", fn_);
    auto* loop = llvm::BasicBlock::Create(ctx, "k.loop", fn_);
    auto* done = llvm::BasicBlock::Create(ctx, "k.done", fn_);
    b_.SetInsertPoint(entry);
    llvm::Value *a = fn_->getArg(0), *rowStride = fn_->getArg(1), *kStride = fn_->getArg(2);
    llvm::Value *panel = fn_->getArg(3), *panelStride = fn_->getArg(4), *kc = fn_->getArg(5);
    std::vector<llvm::Value*> aRows;
    for (int r = 0; r < rows_; ++r)
      aRows.push_back(b_.CreateInBoundsGEP(b_.getFloatTy(), a, b_.CreateMul(rowStride, b_.getInt64(uint64_t(r)))));
    llvm::Value* zero = llvm::ConstantAggregateZero::get(vec_);
    // A packed in tile order (row stride 1) gets its own loop, where each row's float is a constant
    // offset from one pointer: the general loop's per-row address arithmetic runs on the integer ports
    // that Sapphire Rapids shares with its two 512-bit FMA pipes (0.8 of the peak in L1; packed 0.9).
    auto* pick = llvm::BasicBlock::Create(ctx, "k.pick", fn_, loop);
    auto* packedLoop = llvm::BasicBlock::Create(ctx, "k.loop.packed", fn_, loop);
    b_.CreateCondBr(b_.CreateICmpSGT(kc, b_.getInt64(0)), pick, done);
    b_.SetInsertPoint(pick);
    std::vector<llvm::Value*> aPacked;
    for (int r = 0; r < rows_; ++r) aPacked.push_back(b_.CreateConstInBoundsGEP1_64(b_.getFloatTy(), a, uint64_t(r)));
    b_.CreateCondBr(b_.CreateICmpEQ(rowStride, b_.getInt64(1)), packedLoop, loop);
    std::vector<llvm::Value*> general = emitLoop(loop, pick, done, aRows, kStride, panelStride, panel, kc, 1);
    std::vector<llvm::Value*> tight =
        emitLoop(packedLoop, pick, done, aPacked, kStride, panelStride, panel, kc, 4);

    b_.SetInsertPoint(done);
    std::vector<llvm::Value*> result;
    for (int r = 0; r < rows_; ++r) {
      llvm::PHINode* p = b_.CreatePHI(vec_, 3, fmt::format("c{}", r));
      p->addIncoming(zero, entry);
      p->addIncoming(general[size_t(r)], loop);
      p->addIncoming(tight[size_t(r)], packedLoop);
      result.push_back(p);
    }
    emitStores(result);
    return fn_;
  }

 private:
  // for kk in [0, kc): acc[r] += splat(aRows[r][kk * kStride]) * panel[kk * panelStride .. + W), in
  // `loop` (entered from `from` with kc > 0, left for `exit`); returns the accumulators it leaves with.
  std::vector<llvm::Value*> emitLoop(llvm::BasicBlock* loop, llvm::BasicBlock* from, llvm::BasicBlock* exit,
                                     const std::vector<llvm::Value*>& aRows, llvm::Value* kStride,
                                     llvm::Value* panelStride, llvm::Value* panel, llvm::Value* kc, int unroll) {
    llvm::Type* i64 = b_.getInt64Ty();
    llvm::Type* ptr = llvm::PointerType::getUnqual(m_.getContext());
    b_.SetInsertPoint(loop);
    llvm::PHINode* kk = b_.CreatePHI(i64, 2, "kk");
    llvm::PHINode* aOff = b_.CreatePHI(i64, 2, "a.off");
    llvm::PHINode* row = b_.CreatePHI(ptr, 2, "panel.row");
    std::vector<llvm::PHINode*> acc;
    for (int r = 0; r < rows_; ++r) acc.push_back(b_.CreatePHI(vec_, 2, fmt::format("acc{}", r)));
    llvm::Value* bRow = b_.CreateAlignedLoad(vec_, row, llvm::Align(4), "b");
    std::vector<llvm::Value*> next;
    for (int r = 0; r < rows_; ++r) {
      llvm::Value* x = b_.CreateLoad(b_.getFloatTy(), b_.CreateInBoundsGEP(b_.getFloatTy(), aRows[size_t(r)], aOff));
      llvm::Value* splat = b_.CreateVectorSplat(unsigned(width_), x);
      next.push_back(b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vec_}, {splat, bRow, acc[size_t(r)]}));
    }
    llvm::Value* kkNext = b_.CreateAdd(kk, b_.getInt64(1), "kk.next", true, true);
    llvm::Value* aNext = b_.CreateAdd(aOff, kStride, "a.next");
    llvm::Value* rowNext = b_.CreateInBoundsGEP(b_.getFloatTy(), row, panelStride, "panel.next");
    llvm::BranchInst* latch = b_.CreateCondBr(b_.CreateICmpSLT(kkNext, kc), loop, exit);
    if (unroll > 1) {
      // llvm.loop.unroll.count: O2's unroller repeats the body `unroll` times with a remainder loop.
      llvm::LLVMContext& ctx = m_.getContext();
      llvm::Metadata* count[] = {llvm::MDString::get(ctx, "llvm.loop.unroll.count"),
                                 llvm::ConstantAsMetadata::get(b_.getInt32(uint32_t(unroll)))};
      llvm::Metadata* ops[] = {nullptr, llvm::MDNode::get(ctx, count)};
      llvm::MDNode* id = llvm::MDNode::getDistinct(ctx, ops);
      id->replaceOperandWith(0, id);
      latch->setMetadata(llvm::LLVMContext::MD_loop, id);
    }
    kk->addIncoming(b_.getInt64(0), from);
    kk->addIncoming(kkNext, loop);
    aOff->addIncoming(b_.getInt64(0), from);
    aOff->addIncoming(aNext, loop);
    row->addIncoming(panel, from);
    row->addIncoming(rowNext, loop);
    llvm::Value* zero = llvm::ConstantAggregateZero::get(vec_);
    for (int r = 0; r < rows_; ++r) {
      acc[size_t(r)]->addIncoming(zero, from);
      acc[size_t(r)]->addIncoming(next[size_t(r)], loop);
    }
    return next;
  }

  // Four ways out: whole panel or the last, narrower one (masked); add to C or overwrite it.
  void emitStores(const std::vector<llvm::Value*>& result) {
    llvm::LLVMContext& ctx = m_.getContext();
    llvm::Value *c = fn_->getArg(6), *ldc = fn_->getArg(7), *cols = fn_->getArg(8);
    llvm::Value* accumulate = b_.CreateICmpNE(fn_->getArg(9), b_.getInt32(0));
    std::vector<llvm::Value*> cRows;
    for (int r = 0; r < rows_; ++r)
      cRows.push_back(b_.CreateInBoundsGEP(b_.getFloatTy(), c, b_.CreateMul(ldc, b_.getInt64(uint64_t(r)))));
    auto* whole = llvm::BasicBlock::Create(ctx, "store.whole", fn_);
    auto* part = llvm::BasicBlock::Create(ctx, "store.part", fn_);
    b_.CreateCondBr(b_.CreateICmpEQ(cols, b_.getInt64(uint64_t(width_))), whole, part);

    b_.SetInsertPoint(whole);
    storeRows(result, cRows, accumulate, nullptr);
    b_.SetInsertPoint(part);
    std::vector<llvm::Constant*> lanes;
    for (int64_t j = 0; j < width_; ++j) lanes.push_back(b_.getInt64(uint64_t(j)));
    llvm::Value* mask = b_.CreateICmpULT(llvm::ConstantVector::get(lanes), b_.CreateVectorSplat(unsigned(width_), cols));
    storeRows(result, cRows, accumulate, mask);
  }

  // C rows (+)= result; with a mask only its lanes are read and written. Ends the block.
  void storeRows(const std::vector<llvm::Value*>& result, const std::vector<llvm::Value*>& cRows,
                 llvm::Value* accumulate, llvm::Value* mask) {
    llvm::LLVMContext& ctx = m_.getContext();
    auto* add = llvm::BasicBlock::Create(ctx, mask ? "part.add" : "whole.add", fn_);
    auto* set = llvm::BasicBlock::Create(ctx, mask ? "part.set" : "whole.set", fn_);
    b_.CreateCondBr(accumulate, add, set);
    for (bool adding : {true, false}) {
      b_.SetInsertPoint(adding ? add : set);
      for (int r = 0; r < rows_; ++r) {
        llvm::Value* v = result[size_t(r)];
        llvm::Value* at = cRows[size_t(r)];
        llvm::Value* zero = llvm::ConstantAggregateZero::get(vec_);
        if (adding) {
          llvm::Value* old = mask ? static_cast<llvm::Value*>(b_.CreateMaskedLoad(vec_, at, llvm::Align(4), mask, zero))
                                  : b_.CreateAlignedLoad(vec_, at, llvm::Align(4));
          v = b_.CreateFAdd(v, old);
        }
        if (mask) b_.CreateMaskedStore(v, at, llvm::Align(4), mask);
        else b_.CreateAlignedStore(v, at, llvm::Align(4));
      }
      b_.CreateRetVoid();
    }
  }

  llvm::Module& m_;
  llvm::IRBuilder<> b_;
  int rows_;
  int64_t width_;
  llvm::Function* fn_ = nullptr;
  llvm::FixedVectorType* vec_ = nullptr;
};

}  // namespace

std::string tileKernelName(int rows, int64_t width) { return fmt::format("graphc_tile_{}x{}", rows, width); }

// K blocks hold at most this many bytes of panel (kc x width floats): 32 KiB
// fits the 48 KiB L1 of Zen 4/5 and Sapphire Rapids, and half of it is
// 256 x 16 floats, the block measured best on Zen 3.
constexpr int64_t kPanelSliceBytes = 32 << 10;

llvm::GlobalVariable* productKernelTable(llvm::Module& m, const Target& target, int64_t panelWidth, bool blockK) {
  std::string name = fmt::format("graphc_products_w{}{}", panelWidth, blockK ? "" : "_whole_k");
  if (auto* existing = m.getGlobalVariable(name, true)) return existing;
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  llvm::PointerType* ptr = llvm::PointerType::getUnqual(ctx);
  int rows = tileRowsFor(target, panelWidth);
  auto* arrayType = llvm::ArrayType::get(ptr, kMaxTileRows + 1);
  // tiles[1..rows] of `width` columns, null elsewhere
  auto tileArray = [&](int64_t width) {
    std::vector<llvm::Constant*> kernels = {llvm::ConstantPointerNull::get(ptr)};
    for (int r = 1; r <= kMaxTileRows; ++r)
      kernels.push_back(r <= rows ? static_cast<llvm::Constant*>(TileEmitter(m, r, width).emit())
                                  : llvm::ConstantPointerNull::get(ptr));
    return llvm::ConstantArray::get(arrayType, kernels);
  };
  // A last panel of one vector's columns or fewer gets tiles of that width (kernels/product.h).
  int64_t narrowWidth = panelWidth > target.lanes() && panelWidth % target.lanes() == 0 ? target.lanes() : 0;
  llvm::Constant* narrowTiles = narrowWidth ? tileArray(narrowWidth) : llvm::ConstantAggregateZero::get(arrayType);
  int64_t maxKc = blockK ? std::max<int64_t>(64, kPanelSliceBytes / (panelWidth * int64_t(sizeof(float)))) : 0;
  auto* type = llvm::StructType::get(ctx, {i64, i64, i64, i64, i64, arrayType, i64, arrayType});
  auto* init = llvm::ConstantStruct::get(type, {llvm::ConstantInt::get(i64, uint64_t(rows)),
                                                llvm::ConstantInt::get(i64, uint64_t(panelWidth)),
                                                llvm::ConstantInt::get(i64, uint64_t(maxKc)),
                                                llvm::ConstantInt::get(i64, uint64_t(target.l2Bytes)),
                                                llvm::ConstantInt::get(i64, target.integerSharesFmaPorts ? 1 : 0),
                                                tileArray(panelWidth),
                                                llvm::ConstantInt::get(i64, uint64_t(narrowWidth)), narrowTiles});
  return new llvm::GlobalVariable(m, type, true, llvm::GlobalValue::InternalLinkage, init, name);
}

}  // namespace graphc
