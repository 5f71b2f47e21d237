// codegen/KernelEmitter.cpp — loops for fused elementwise kernels.
#include "codegen/KernelEmitter.h"

#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "codegen/MathEmitter.h"
#include "graph/Constant.h"
#include "target/Fusability.h"
#include "target/KernelShape.h"

namespace graphc {
namespace {

struct LoopIndex {
  llvm::Value* row;   // i64
  llvm::Value* col;   // i64
  llvm::Value* flat;  // i64: row * cols + col
};

llvm::Type* elementType(llvm::IRBuilder<>& b, DType t) {
  return t == DType::F32 ? static_cast<llvm::Type*>(b.getFloatTy()) : b.getInt32Ty();
}

// The scalar value of one body node at the loop's current element.
class BodyEmitter {
 public:
  // pointers: the kernel's output, then one per body input. known: per body
  // input, its value at the loop's element when another kernel of the same
  // loop computed it (an epilogue chain's earlier member), else nullptr.
  BodyEmitter(llvm::IRBuilder<>& b, const Graph& body, std::vector<llvm::Value*> pointers, const Shape& outShape,
              std::vector<llvm::Value*> known = {})
      : b_(b), body_(body), pointers_(std::move(pointers)), known_(std::move(known)), outShape_(outShape),
        values_(body.size(), nullptr), inputIndex_(bodyInputIndex(body)) {
    known_.resize(pointers_.size() - 1, nullptr);
  }

  // The value of `root` at the loop's element (a concatenated kernel's piece;
  // by default the result): only the nodes it reads are computed.
  llvm::Value* emit(const LoopIndex& at, ValueId root = -1) {
    if (root < 0) root = body_.outputs[0].value;
    if (body_.node(root).op == OpKind::Input) return element(root, at);  // a copy
    std::vector<char> needed(body_.size(), 0);
    needed[size_t(root)] = 1;
    for (size_t i = size_t(root) + 1; i-- > 0;)
      if (needed[i])
        for (ValueId o : body_.nodes[i].operands) needed[size_t(o)] = 1;
    for (size_t i = 0; i <= size_t(root); ++i) {
      const Node& n = body_.nodes[i];
      if (!needed[i] || n.op == OpKind::Input) continue;  // inputs are loaded where they are used
      values_[i] = emitNode(n, at);
    }
    return values_[size_t(root)];
  }

 private:
  llvm::Value* load(ValueId input, llvm::Value* index) {
    const Node& in = body_.node(input);
    size_t arg = size_t(inputIndex_[size_t(input)]) + 1;  // pointer 0 is the output
    llvm::Type* t = elementType(b_, in.type.dtype);
    llvm::Value* ptr = b_.CreateInBoundsGEP(t, pointers_[arg], index);
    return b_.CreateLoad(t, ptr);
  }

  // An input at the loop's element: in a register when the loop computed it, else loaded.
  llvm::Value* element(ValueId input, const LoopIndex& at) {
    if (llvm::Value* v = known_[size_t(inputIndex_[size_t(input)])]) return v;
    return load(input, at.flat);
  }

  llvm::Value* operand(const Node& n, size_t k, const LoopIndex& at) {
    ValueId o = n.operands[k];
    if (body_.node(o).op == OpKind::Input) return element(o, at);
    return values_[size_t(o)];
  }

  llvm::Value* constant(const Node& n) {
    if (n.type.dtype == DType::F32) return llvm::ConstantFP::get(b_.getFloatTy(), constantValue(n));
    return b_.getInt32(uint32_t(int32_t(constantValue(n))));
  }

  llvm::Value* emitNode(const Node& n, const LoopIndex& at) {
    // Compare and convert work in their operand's type; everything else in its result's.
    bool isFloat = n.op == OpKind::Compare || n.op == OpKind::Convert ? body_.type(n.operands[0]).dtype == DType::F32
                                                                      : n.type.dtype == DType::F32;
    auto x = [&](size_t k) { return operand(n, k, at); };
    llvm::Type* f32 = b_.getFloatTy();
    switch (n.op) {
      case OpKind::Constant: return constant(n);
      case OpKind::Broadcast: {
        ValueId src = n.operands[0];
        if (body_.node(src).op == OpKind::Constant) return constant(body_.node(src));
        auto pattern = classifyBroadcast(body_.type(src).shape, n.type.shape);
        if (!pattern) throw Error(fmt::format("codegen: unsupported broadcast in fused kernel %{}", body_.name));
        switch (*pattern) {
          case BroadcastPattern::Full: return element(src, at);
          case BroadcastPattern::Scalar: return load(src, b_.getInt64(0));
          case BroadcastPattern::Row: return load(src, at.col);
          case BroadcastPattern::Column: return load(src, at.row);
        }
        return nullptr;
      }
      case OpKind::Slice: {  // read in place: row-major, 2-d (target/Fusability.h)
        const auto& start = attr::start(n.attrs);
        const int64_t cols = body_.type(n.operands[0]).shape[1];
        llvm::Value* row = b_.CreateAdd(at.row, b_.getInt64(uint64_t(start[0])));
        llvm::Value* col = b_.CreateAdd(at.col, b_.getInt64(uint64_t(start[1])));
        return load(n.operands[0], b_.CreateAdd(b_.CreateMul(row, b_.getInt64(uint64_t(cols))), col));
      }
      case OpKind::Add: return isFloat ? b_.CreateFAdd(x(0), x(1)) : b_.CreateAdd(x(0), x(1));
      case OpKind::Sub: return isFloat ? b_.CreateFSub(x(0), x(1)) : b_.CreateSub(x(0), x(1));
      case OpKind::Mul: return isFloat ? b_.CreateFMul(x(0), x(1)) : b_.CreateMul(x(0), x(1));
      case OpKind::Div: {
        if (isFloat) return b_.CreateFDiv(x(0), x(1));
        // As the evaluator: x / 0 = 0, and x / -1 = -x wrapped (INT32_MIN / -1 would trap), no trap at all.
        llvm::Value* d = x(1);
        llvm::Value* zero = b_.CreateICmpEQ(d, b_.getInt32(0));
        llvm::Value* minusOne = b_.CreateICmpEQ(d, b_.getInt32(-1));
        llvm::Value* safe = b_.CreateSelect(b_.CreateOr(zero, minusOne), b_.getInt32(1), d);
        llvm::Value* quotient = b_.CreateSelect(minusOne, b_.CreateSub(b_.getInt32(0), x(0)), b_.CreateSDiv(x(0), safe));
        return b_.CreateSelect(zero, b_.getInt32(0), quotient);
      }
      case OpKind::Maximum:
      case OpKind::Minimum: {
        llvm::Value* a = x(0);
        llvm::Value* c = x(1);
        bool max = n.op == OpKind::Maximum;
        if (!isFloat) return b_.CreateSelect(max ? b_.CreateICmpSGT(a, c) : b_.CreateICmpSLT(a, c), a, c);
        // (a is NaN or a beats c) ? a : c — NaN propagates as in the interpreter.
        llvm::Value* wins = b_.CreateOr(b_.CreateFCmpUNO(a, a), max ? b_.CreateFCmpOGT(a, c) : b_.CreateFCmpOLT(a, c));
        return b_.CreateSelect(wins, a, c);
      }
      case OpKind::Compare: {
        const std::string& p = attr::pred(n.attrs);
        llvm::Value* a = x(0);
        llvm::Value* c = x(1);
        llvm::Value* r;
        if (isFloat) {
          r = p == "eq" ? b_.CreateFCmpOEQ(a, c) : p == "ne" ? b_.CreateFCmpUNE(a, c) : p == "lt" ? b_.CreateFCmpOLT(a, c)
            : p == "le" ? b_.CreateFCmpOLE(a, c) : p == "gt" ? b_.CreateFCmpOGT(a, c) : b_.CreateFCmpOGE(a, c);
        } else {
          r = p == "eq" ? b_.CreateICmpEQ(a, c) : p == "ne" ? b_.CreateICmpNE(a, c) : p == "lt" ? b_.CreateICmpSLT(a, c)
            : p == "le" ? b_.CreateICmpSLE(a, c) : p == "gt" ? b_.CreateICmpSGT(a, c) : b_.CreateICmpSGE(a, c);
        }
        return b_.CreateZExt(r, b_.getInt32Ty());
      }
      case OpKind::Select: return b_.CreateSelect(b_.CreateICmpNE(x(0), b_.getInt32(0)), x(1), x(2));
      case OpKind::Neg: return isFloat ? b_.CreateFNeg(x(0)) : b_.CreateNeg(x(0));
      case OpKind::Exp: return emitExp(b_, x(0));
      case OpKind::Log: return emitLog(b_, x(0));
      case OpKind::Tanh: return emitTanh(b_, x(0));
      case OpKind::Sigmoid: return emitSigmoid(b_, x(0));
      case OpKind::Softplus: return emitSoftplus(b_, x(0));
      case OpKind::Erf: return emitErf(b_, x(0));
      case OpKind::Gelu: return emitGelu(b_, x(0));
      case OpKind::Relu: {
        llvm::Value* a = x(0);
        return b_.CreateSelect(b_.CreateFCmpOGT(a, llvm::ConstantFP::get(f32, 0.0)), a, llvm::ConstantFP::get(f32, 0.0));
      }
      case OpKind::Sqrt: return b_.CreateIntrinsic(llvm::Intrinsic::sqrt, {f32}, {x(0)});
      case OpKind::Convert: {
        bool toFloat = n.type.dtype == DType::F32;
        if (isFloat == toFloat) return x(0);
        if (toFloat) return b_.CreateSIToFP(x(0), f32);
        return b_.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {b_.getInt32Ty(), f32}, {x(0)});
      }
      case OpKind::Gather: {
        // A row gather (zero_out_of_range): element [r, c] is table[idx[r], c], or 0
        // when idx[r] is outside the table. Both operands are body inputs.
        int64_t rows = body_.type(n.operands[0]).shape[0], width = body_.type(n.operands[0]).shape[1];
        llvm::Value* idx = b_.CreateSExt(load(n.operands[1], at.row), b_.getInt64Ty());
        llvm::Value* inRange = b_.CreateICmpULT(idx, b_.getInt64(uint64_t(rows)));  // unsigned: negatives too
        llvm::Value* row = b_.CreateSelect(inRange, idx, b_.getInt64(0));
        llvm::Value* v = load(n.operands[0], b_.CreateAdd(b_.CreateMul(row, b_.getInt64(uint64_t(width))), at.col));
        return b_.CreateSelect(inRange, v, llvm::ConstantFP::get(f32, 0.0));
      }
      case OpKind::Input:
      case OpKind::Param:
      case OpKind::State:
      case OpKind::MatMul:
      case OpKind::PackPanels:
      case OpKind::PackedMatMul:
      case OpKind::ReduceSum:
      case OpKind::ReduceMean:
      case OpKind::ReduceMax:
      case OpKind::ArgMax:
      case OpKind::SumSquares:
      case OpKind::Reshape:
      case OpKind::Transpose:
      case OpKind::Pad:
      case OpKind::Concat:
      case OpKind::OneHot:
      case OpKind::Iota:
      case OpKind::Attention:
      case OpKind::AttentionGrad:
      case OpKind::RandomUniform:
      case OpKind::AllReduce:
      case OpKind::ScatterAdd:
      case OpKind::LogSoftmax:
      case OpKind::SoftmaxCrossEntropy:
      case OpKind::LinearCrossEntropy:
      case OpKind::LinearCrossEntropyGrad:
      case OpKind::LinearCrossEntropyTrain:
      case OpKind::Fused: break;
    }
    throw Error(fmt::format("codegen: '{}' cannot appear in a fused kernel", opName(n.op)));
  }

  llvm::IRBuilder<>& b_;
  const Graph& body_;
  std::vector<llvm::Value*> pointers_;
  std::vector<llvm::Value*> known_;
  Shape outShape_;
  std::vector<llvm::Value*> values_;
  std::vector<int64_t> inputIndex_;  // bodyInputIndex: which kernel argument each input is
};

// Emits for (i = begin; i < end; ++i) with the body built by `inner(i)` at the insertion point.
template <typename Inner>
void emitLoop(llvm::IRBuilder<>& b, llvm::Function* f, llvm::Value* begin, llvm::Value* end, const char* name,
              Inner inner) {
  llvm::BasicBlock* pre = b.GetInsertBlock();
  llvm::BasicBlock* header = llvm::BasicBlock::Create(b.getContext(), std::string(name) + ".body", f);
  llvm::BasicBlock* exit = llvm::BasicBlock::Create(b.getContext(), std::string(name) + ".exit", f);
  b.CreateCondBr(b.CreateICmpSLT(begin, end), header, exit);
  b.SetInsertPoint(header);
  llvm::PHINode* i = b.CreatePHI(b.getInt64Ty(), 2, name);
  i->addIncoming(begin, pre);
  inner(i);
  llvm::Value* next = b.CreateAdd(i, b.getInt64(1), "", true, true);
  i->addIncoming(next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpSLT(next, end), header, exit);
  b.SetInsertPoint(exit);
}

size_t inputCount(const Graph& body) {
  size_t inputs = 0;
  for (const Node& n : body.nodes) inputs += n.op == OpKind::Input;
  return inputs;
}

// f's first `count` arguments.
std::vector<llvm::Value*> leadingArgs(llvm::Function* f, size_t count) {
  std::vector<llvm::Value*> args;
  for (size_t i = 0; i < count; ++i) args.push_back(f->getArg(unsigned(i)));
  return args;
}

// Emits the column loop over [lo, hi), or with fixedWidth > 0 over
// [lo, lo + fixedWidth) counting from 0 to that constant (offset by lo), so
// the vectorizer knows the trip count: from lo to lo + 32 it did not (it could
// not rule out the overflow) and checked the count on every row.
template <typename Inner>
void emitColumnLoop(llvm::IRBuilder<>& b, llvm::Function* f, llvm::Value* lo, llvm::Value* hi, int64_t fixedWidth,
                    Inner inner) {
  if (fixedWidth <= 0) return emitLoop(b, f, lo, hi, "col", inner);
  emitLoop(b, f, b.getInt64(0), b.getInt64(uint64_t(fixedWidth)), "col",
           [&](llvm::Value* c) { inner(b.CreateAdd(lo, c, "", true, true)); });
}

// The loop nest over the output grid, columns [colBegin, colEnd) of every row.
// With `flatWhenPossible`, a body without row/column operands runs as one flat
// loop over the whole output instead, which is simplest for the vectorizer.
// fixedWidth > 0: the range is colBegin + [0, fixedWidth) (emitColumnLoop).
void emitBodyLoops(llvm::IRBuilder<>& b, llvm::Function* f, const Graph& body, llvm::Value* colBegin,
                   llvm::Value* colEnd, bool flatWhenPossible, int64_t fixedWidth = 0) {
  if (fixedWidth > 0) colEnd = b.CreateAdd(colBegin, b.getInt64(uint64_t(fixedWidth)), "", true, true);
  const TensorType& out = body.type(body.outputs[0].value);
  if (const Node* root = columnConcatRoot(body)) {
    // A concatenated kernel: each piece loops over its own columns of
    // [colBegin, colEnd), reading its inputs in its own shape.
    llvm::Type* outType = elementType(b, out.dtype);
    BodyEmitter emitter(b, body, leadingArgs(f, inputCount(body) + 1), out.shape);
    const int64_t rows = out.shape[0], width = out.shape[1];
    int64_t offset = 0;
    for (ValueId piece : root->operands) {
      const int64_t w = body.type(piece).shape[1];
      llvm::Value* first = b.getInt64(uint64_t(offset));
      llvm::Value* last = b.getInt64(uint64_t(offset + w));
      llvm::Value* lo = b.CreateSelect(b.CreateICmpSGT(colBegin, first), colBegin, first);
      llvm::Value* hi = b.CreateSelect(b.CreateICmpSLT(colEnd, last), colEnd, last);
      lo = b.CreateSub(lo, first);
      hi = b.CreateSub(hi, first);
      emitLoop(b, f, b.getInt64(0), b.getInt64(uint64_t(rows)), "row", [&](llvm::Value* row) {
        emitLoop(b, f, lo, hi, "col", [&](llvm::Value* col) {
          llvm::Value* flat = b.CreateAdd(b.CreateMul(row, b.getInt64(uint64_t(w)), "", true, true), col, "", true, true);
          llvm::Value* v = emitter.emit({row, col, flat}, piece);
          llvm::Value* at = b.CreateAdd(b.CreateMul(row, b.getInt64(uint64_t(width)), "", true, true),
                                        b.CreateAdd(col, first, "", true, true), "", true, true);
          b.CreateStore(v, b.CreateInBoundsGEP(outType, f->getArg(0), at));
        });
      });
      offset += w;
    }
    return;
  }
  KernelGrid grid = kernelGrid(out.shape);
  bool needsGrid = false;
  for (const Node& n : body.nodes) {
    needsGrid |= n.op == OpKind::Gather || n.op == OpKind::Slice;  // indexed by row (and column)
    if (n.op == OpKind::Broadcast && body.node(n.operands[0]).op != OpKind::Constant) {
      auto p = classifyBroadcast(body.type(n.operands[0]).shape, n.type.shape);
      needsGrid |= p && (*p == BroadcastPattern::Row || *p == BroadcastPattern::Column);
    }
  }
  if (flatWhenPossible && !needsGrid) {
    grid = {1, grid.rows * grid.cols};
    colBegin = b.getInt64(0);
    colEnd = b.getInt64(uint64_t(grid.cols));
    fixedWidth = 0;
  }
  llvm::Type* outType = elementType(b, out.dtype);
  BodyEmitter emitter(b, body, leadingArgs(f, inputCount(body) + 1), out.shape);
  emitLoop(b, f, b.getInt64(0), b.getInt64(uint64_t(grid.rows)), "row", [&](llvm::Value* row) {
    emitColumnLoop(b, f, colBegin, colEnd, fixedWidth, [&](llvm::Value* col) {
      llvm::Value* flat = b.CreateAdd(b.CreateMul(row, b.getInt64(uint64_t(grid.cols)), "", true, true), col, "", true, true);
      llvm::Value* v = emitter.emit({row, col, flat});
      b.CreateStore(v, b.CreateInBoundsGEP(outType, f->getArg(0), flat));
    });
  });
}

llvm::Function* createKernelFunction(llvm::Module& m, const std::string& name, size_t pointers, size_t integers,
                                     llvm::GlobalValue::LinkageTypes linkage) {
  llvm::LLVMContext& ctx = m.getContext();
  std::vector<llvm::Type*> params(pointers, llvm::PointerType::getUnqual(ctx));
  params.insert(params.end(), integers, llvm::Type::getInt64Ty(ctx));
  auto* f = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false), linkage, name, m);
  for (size_t i = 0; i < pointers; ++i) {
    f->getArg(unsigned(i))->addAttr(llvm::Attribute::NoAlias);
    f->getArg(unsigned(i))->addAttr(llvm::Attribute::NoCapture);
  }
  f->addFnAttr(llvm::Attribute::NoUnwind);
  return f;
}

// The verifier's and the fuse pass's rule (target/Fusability.h), checked again
// before emitting, so a hand-written body codegen cannot index fails here
// with the same reason instead of producing wrong code.
void checkBody(const Graph& body, const std::string& name) {
  const Node* root = columnConcatRoot(body);
  const std::vector<Shape> shapes = memberShapes(body);
  for (size_t k = 0; k < body.size(); ++k) {
    const Node& n = body.nodes[k];
    if (n.op == OpKind::Input || &n == root) continue;
    if (auto why = kernelMemberRefusal(body, n, shapes[k]))
      throw Error(fmt::format("codegen: kernel {}: %{} cannot be in a fused body: {}", name, n.name, *why));
  }
}

}  // namespace

llvm::Function* emitFusedKernel(llvm::Module& m, const Graph& body, const std::string& name) {
  checkBody(body, name);
  llvm::Function* f = createKernelFunction(m, name, inputCount(body) + 1, 0, llvm::Function::InternalLinkage);
  f->addFnAttr(llvm::Attribute::NoInline);  // one copy, called from the entry at every time step
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(m.getContext(), "entry", f));
  KernelGrid grid = kernelGrid(body.type(body.outputs[0].value).shape);
  emitBodyLoops(b, f, body, b.getInt64(0), b.getInt64(uint64_t(grid.cols)), true);
  b.CreateRetVoid();
  return f;
}

namespace {

// `void name(ptr args, i64 colBegin, i64 colEnd)`: loads `pointers` pointers
// from args and runs loops emitted by emitLoops(b, f, pointers, colBegin,
// colEnd, fixedWidth) in functions of their own with noalias pointers (so
// they vectorize), inlined into it: one copy for a range exactly one panel
// wide (a product's usual call) with that constant trip count, one for any
// other range. For an unknown count LLVM's vectorizer chose a 64-column body
// and sent every 32-column panel through its 8-float remainder loop (the
// seed's epilogues, 6% of its step).
template <typename EmitLoops>
llvm::Function* emitColumnRangeFunction(llvm::Module& m, const std::string& name, size_t pointers, int64_t panelWidth,
                                        EmitLoops emitLoops) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Function* any = createKernelFunction(m, name + ".loops", pointers, 2, llvm::Function::InternalLinkage);
  any->addFnAttr(llvm::Attribute::AlwaysInline);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", any));
  emitLoops(b, any, any->getArg(unsigned(pointers)), any->getArg(unsigned(pointers + 1)), int64_t(0));
  b.CreateRetVoid();
  llvm::Function* panel = createKernelFunction(m, name + ".panel", pointers, 1, llvm::Function::InternalLinkage);
  panel->addFnAttr(llvm::Attribute::AlwaysInline);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", panel));
  emitLoops(b, panel, panel->getArg(unsigned(pointers)), static_cast<llvm::Value*>(nullptr), panelWidth);
  b.CreateRetVoid();

  auto* ptr = llvm::PointerType::getUnqual(ctx);
  auto* type = llvm::FunctionType::get(b.getVoidTy(), {ptr, b.getInt64Ty(), b.getInt64Ty()}, false);
  auto* f = llvm::Function::Create(type, llvm::Function::InternalLinkage, name, m);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", f));
  std::vector<llvm::Value*> args;
  for (size_t i = 0; i < pointers; ++i)
    args.push_back(b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, f->getArg(0), i)));
  llvm::Value* begin = f->getArg(1);
  llvm::Value* end = f->getArg(2);
  auto* onePanel = llvm::BasicBlock::Create(ctx, "panel", f);
  auto* other = llvm::BasicBlock::Create(ctx, "other", f);
  b.CreateCondBr(b.CreateICmpEQ(b.CreateSub(end, begin), b.getInt64(uint64_t(panelWidth))), onePanel, other);
  b.SetInsertPoint(onePanel);
  args.push_back(begin);
  b.CreateCall(panel, args);
  b.CreateRetVoid();
  b.SetInsertPoint(other);
  args.push_back(end);
  b.CreateCall(any, args);
  b.CreateRetVoid();
  return f;
}

}  // namespace

llvm::Function* emitColumnRangeKernel(llvm::Module& m, const Graph& body, const std::string& name,
                                      int64_t panelWidth) {
  checkBody(body, name);
  return emitColumnRangeFunction(
      m, name, inputCount(body) + 1, panelWidth,
      [&](llvm::IRBuilder<>& b, llvm::Function* f, llvm::Value* begin, llvm::Value* end, int64_t fixedWidth) {
        emitBodyLoops(b, f, body, begin, end, false, fixedWidth);
      });
}

llvm::Function* emitChainKernel(llvm::Module& m, const std::vector<ChainMember>& members, int64_t rows,
                                int64_t width, const std::string& name, int64_t panelWidth) {
  size_t pointers = 0;
  std::vector<size_t> base;
  for (const ChainMember& c : members) {
    checkBody(*c.body, name);
    base.push_back(pointers);
    pointers += inputCount(*c.body) + 1;
  }
  auto emitLoops = [&](llvm::IRBuilder<>& b, llvm::Function* f, llvm::Value* begin, llvm::Value* end,
                       int64_t fixedWidth) {
    emitLoop(b, f, b.getInt64(0), b.getInt64(uint64_t(rows)), "row", [&](llvm::Value* row) {
      emitColumnLoop(b, f, begin, end, fixedWidth, [&](llvm::Value* col) {
        // Every member at this element, in order; each hands its value on in a register.
        const LoopIndex at{row, col, b.CreateAdd(b.CreateMul(row, b.getInt64(uint64_t(width)), "", true, true), col,
                                                 "", true, true)};
        std::vector<llvm::Value*> results(members.size(), nullptr);
        for (size_t k = 0; k < members.size(); ++k) {
          const Graph& body = *members[k].body;
          std::vector<llvm::Value*> known;
          for (int from : members[k].earlier) known.push_back(from >= 0 ? results[size_t(from)] : nullptr);
          std::vector<llvm::Value*> own;
          for (size_t i = 0; i < inputCount(body) + 1; ++i) own.push_back(f->getArg(unsigned(base[k] + i)));
          const TensorType& out = body.type(body.outputs[0].value);
          BodyEmitter emitter(b, body, own, out.shape, known);
          llvm::Type* outType = elementType(b, out.dtype);
          if (const Node* root = columnConcatRoot(body)) {
            // Each piece (as wide as the chain's blocks) at its column of the result.
            for (size_t q = 0; q < root->operands.size(); ++q) {
              llvm::Value* v = emitter.emit(at, root->operands[q]);
              llvm::Value* to = b.CreateAdd(b.CreateMul(row, b.getInt64(uint64_t(out.shape[1])), "", true, true),
                                            b.CreateAdd(col, b.getInt64(uint64_t(int64_t(q) * width)), "", true, true),
                                            "", true, true);
              b.CreateStore(v, b.CreateInBoundsGEP(outType, own[0], to));
            }
            continue;
          }
          results[k] = emitter.emit(at);
          b.CreateStore(results[k], b.CreateInBoundsGEP(outType, own[0], at.flat));
        }
      });
    });
  };
  return emitColumnRangeFunction(m, name, pointers, panelWidth, emitLoops);
}

}  // namespace graphc
