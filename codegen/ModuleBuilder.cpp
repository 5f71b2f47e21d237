// codegen/ModuleBuilder.cpp — the entry function: one call per node, into a
// fused kernel or a runtime kernel, on pointers into the arena.
#include "codegen/ModuleBuilder.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>
#include <map>
#include <set>

#include "codegen/CallSequence.h"
#include "codegen/KernelEmitter.h"
#include "graph/Constant.h"
#include "graph/Analysis.h"
#include "graph/Fusability.h"
#include "codegen/ProductEmitter.h"
#include "codegen/RuntimeKernels.h"
#include "graph/TextIR.h"

namespace graphc {
namespace {

// Fused kernels at least this big (a 512 x 512 weight's update) are split by
// columns over the kernel threads; smaller ones cost less than the hand-off.
constexpr int64_t kParallelMinElements = int64_t(1) << 17;
constexpr int64_t kParallelMinColumns = 64;

class EntryBuilder {
 public:
  EntryBuilder(llvm::Module& m, const Graph& g, const Target& target, const CodegenOptions& options,
               ModuleStats& stats)
      : m_(m), g_(g), target_(target), options_(options), stats_(stats), b_(m.getContext()) {}

  void build() {
    llvm::LLVMContext& ctx = m_.getContext();
    auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy()}, false);
    entry_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, kEntryName, m_);
    entry_->addFnAttr(llvm::Attribute::NoUnwind);
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", entry_));
    std::vector<int> uses = g_.useCounts();
    for (size_t i = 0; i < g_.size(); ++i) {
      if (i + 1 < g_.size() && takesEpilogue(g_.nodes[i], g_.nodes[i + 1], ValueId(i), uses)) {
        lowerWithEpilogue(g_.nodes[i], g_.nodes[i + 1]);
        ++i;
        continue;
      }
      lower(g_.nodes[i]);
    }
    std::vector<RolledRun> runs = emitCalls(b_, entry_, calls_, options_.reroll);
    for (const RolledRun& r : runs) {
      stats_.loops.push_back({r.repetitions, r.bodyCalls});
      stats_.rolledCalls += int(r.repetitions * r.bodyCalls);
    }
    stats_.entryCalls = int(calls_.size());
    b_.CreateRetVoid();
  }

 private:
  llvm::Type* ptrTy() { return llvm::PointerType::getUnqual(m_.getContext()); }
  llvm::Constant* i64(int64_t v) { return b_.getInt64(uint64_t(v)); }
  llvm::Constant* i32(int64_t v) { return b_.getInt32(uint32_t(v)); }

  int64_t offsetOf(const Node& n) {
    auto it = n.attrs.find("offset");
    if (it == n.attrs.end()) throw Error(fmt::format("codegen: %{} has no arena offset; run the plan pass first", n.name));
    return attr::offset(n.attrs);
  }
  CallArg buffer(const Node& n) { return CallArg::arena(offsetOf(n)); }
  CallArg buffer(ValueId v) { return buffer(g_.node(v)); }

  llvm::FunctionCallee runtime(const char* name, std::vector<llvm::Type*> params) {
    auto* type = llvm::FunctionType::get(b_.getVoidTy(), params, false);
    return m_.getOrInsertFunction(name, type);
  }
  // Records a call to a runtime kernel (emitted by emitCalls, maybe in a
  // loop). The kernel's type comes from codegen/RuntimeKernels.def; arguments
  // that do not fit it are a codegen error.
  void call(const char* name, std::vector<CallArg> args) {
    const std::vector<RuntimeParam>* params = runtimeKernelParams(name);
    if (!params) throw Error(fmt::format("codegen: no runtime kernel '{}' in RuntimeKernels.def", name));
    if (params->size() != args.size())
      throw Error(fmt::format("codegen: {} takes {} arguments, given {}", name, params->size(), args.size()));
    std::vector<llvm::Type*> types;
    for (size_t k = 0; k < args.size(); ++k) {
      RuntimeParam p = (*params)[k];
      llvm::Type* want = p == RuntimeParam::Ptr ? ptrTy() : p == RuntimeParam::I64 ? b_.getInt64Ty() : b_.getInt32Ty();
      llvm::Type* given = args[k].kind == CallArg::Kind::Constant ? args[k].value->getType() : ptrTy();
      if (given != want)
        throw Error(fmt::format("codegen: argument {} of {} does not have the type RuntimeKernels.def gives it", k, name));
      types.push_back(want);
    }
    llvm::FunctionCallee callee = runtime(name, types);
    calls_.push_back({callee.getFunctionType(), callee.getCallee(), std::move(args)});
    ++stats_.runtimeCalls;
  }
  // A private constant i64 array, for kernels that take a shape descriptor;
  // one global per distinct content, so the calls of every step pass the same one.
  llvm::Constant* desc(const std::vector<int64_t>& values) {
    auto& global = descs_[values];
    if (!global) {
      auto* type = llvm::ArrayType::get(b_.getInt64Ty(), values.size());
      std::vector<llvm::Constant*> elems;
      for (int64_t v : values) elems.push_back(b_.getInt64(uint64_t(v)));
      global = new llvm::GlobalVariable(m_, type, true, llvm::GlobalValue::PrivateLinkage,
                                        llvm::ConstantArray::get(type, elems), "desc");
    }
    return global;
  }

  // The target's micro-kernels for panels `width` wide (one table per width).
  llvm::Constant* products(int64_t width) {
    llvm::GlobalVariable* table = productKernelTable(m_, target_, width);
    if (productTables_.insert(width).second) {
      auto* init = llvm::cast<llvm::ConstantStruct>(table->getInitializer());
      auto* kernels = llvm::cast<llvm::ConstantArray>(init->getOperand(2));
      for (unsigned r = 0; r < kernels->getNumOperands(); ++r)
        if (!llvm::isa<llvm::ConstantPointerNull>(kernels->getOperand(r))) ++stats_.tileKernels;
    }
    return table;
  }

  // The base element goes into the strided side's pointer, not the
  // descriptor, so the copies of successive steps differ only in their
  // arena offsets (and re-roll into a loop).
  void stridedCopy(const char* kernel, CallArg in, CallArg out, const Shape& dims,
                   const std::vector<int64_t>& strides, int64_t base) {
    bool gather = std::string(kernel) == "graphc_rt_gather_strided";
    (gather ? in : out).offset += base * 4;
    std::vector<int64_t> d = {int64_t(dims.size()), 0};
    d.insert(d.end(), dims.begin(), dims.end());
    d.insert(d.end(), strides.begin(), strides.end());
    call(kernel, {in, out, desc(d)});
  }

  // A packed product whose one use is the fused kernel right after it, over
  // the same 2-d shape: the kernel becomes the product's epilogue, run on each
  // thread's columns as soon as they are done (so it is split over threads
  // too, and reads the product's columns while they are still in cache).
  // `fuse` marks the pairing {epilogue = 1}; the verifier has checked it.
  bool takesEpilogue(const Node& product, const Node& next, ValueId productId, const std::vector<int>& uses) const {
    return product.op == OpKind::PackedMatMul && attr::epilogue(next.attrs) &&
           isEpiloguePair(g_, productId, uses);
  }

  // The fused kernel as a column-range function (one copy per distinct body).
  llvm::Function* columnRangeKernel(const Node& fused) {
    std::string key = printGraph(*fused.body);
    auto it = epilogues_.find(key);
    if (it == epilogues_.end()) {
      std::string name = fmt::format("columns_{}", epilogues_.size());
      it = epilogues_.emplace(key, emitColumnRangeKernel(m_, *fused.body, name)).first;
    }
    return it->second;
  }

  // A stack array of the kernel's pointers: its output, then its operands.
  CallArg pointerArray(const Node& fused) {
    std::vector<int64_t> offsets = {offsetOf(fused)};
    for (ValueId o : fused.operands) offsets.push_back(offsetOf(g_.node(o)));
    return CallArg::pointers(std::move(offsets));
  }

  void lowerWithEpilogue(const Node& product, const Node& fused) {
    llvm::Function* epilogue = columnRangeKernel(fused);
    CallArg args = pointerArray(fused);
    bool ta = attr::transposeA(product.attrs);
    const TensorType& lhs = g_.type(product.operands[0]);
    call("graphc_rt_packed_matmul_epilogue",
         {buffer(product.operands[0]), buffer(product.operands[1]), buffer(product), i64(product.type.shape[0]),
          i64(product.type.shape[1]), i64(lhs.shape[ta ? 0 : 1]), i32(ta),
          products(g_.type(product.operands[1]).shape[2]), epilogue, args});
    ++stats_.fusedKernels;
    ++stats_.epilogues;
  }

  void lower(const Node& n) {
    if (opLowering(n.op) == LoweringKind::InKernel)
      throw Error(fmt::format("codegen: %{} is a bare '{}'; run the fuse pass first", n.name, opName(n.op)));
    auto in = [&](size_t k) { return buffer(n.operands[k]); };
    auto inType = [&](size_t k) { return g_.type(n.operands[k]); };
    switch (n.op) {
      case OpKind::Input:
      case OpKind::Param:
      case OpKind::State: return;  // copied into the arena by the executor
      case OpKind::Constant: {
        uint32_t bits;
        if (n.type.dtype == DType::F32) {
          float f = float(constantValue(n));
          std::memcpy(&bits, &f, 4);
        } else {
          bits = uint32_t(int32_t(constantValue(n)));
        }
        call("graphc_rt_fill", {buffer(n), i64(n.type.numElements()), i32(int64_t(bits))});
        return;
      }
      case OpKind::Fused: {
        if (n.type.rank() == 2 && n.type.shape[1] >= kParallelMinColumns &&
            n.type.numElements() >= kParallelMinElements) {
          // A big kernel (a weight's update or squared gradient) is split by columns over the threads.
          call("graphc_rt_parallel_columns", {columnRangeKernel(n), pointerArray(n), i64(n.type.shape[1])});
          ++stats_.fusedKernels;
          return;
        }
        std::string key = printGraph(*n.body);
        auto it = kernels_.find(key);
        if (it == kernels_.end()) {
          std::string name = fmt::format("fused_{}", kernels_.size());
          it = kernels_.emplace(key, emitFusedKernel(m_, *n.body, name)).first;
        }
        std::vector<CallArg> args = {buffer(n)};
        for (size_t k = 0; k < n.operands.size(); ++k) args.push_back(in(k));
        calls_.push_back({it->second->getFunctionType(), it->second, std::move(args)});
        ++stats_.fusedKernels;
        return;
      }
      case OpKind::MatMul: {
        // A batched product: one call per entry, at successive offsets (emitCalls re-rolls them into a loop).
        const size_t r = size_t(n.type.rank());
        const int64_t m = n.type.shape[r - 2], cols = n.type.shape[r - 1], k = contractionLength(g_, n);
        for (int64_t e = 0, entries = batchCount(n.type); e < entries; ++e) {
          CallArg a = in(0), b = in(1), c = buffer(n);
          a.offset += e * m * k * 4;
          b.offset += e * k * cols * 4;
          c.offset += e * m * cols * 4;
          call("graphc_rt_matmul", {a, b, c, i64(m), i64(cols), i64(k), i32(attr::transposeA(n.attrs)),
                                    i32(attr::transposeB(n.attrs)), products(target_.panelWidth())});
        }
        return;
      }
      case OpKind::PackPanels: {
        bool t = attr::transpose(n.attrs);
        int64_t k = inType(0).shape[t ? 1 : 0], cols = inType(0).shape[t ? 0 : 1];
        call("graphc_rt_pack_panels", {in(0), buffer(n), i64(k), i64(cols), i32(t), i64(n.type.shape[2])});
        return;
      }
      case OpKind::PackedMatMul: {
        bool ta = attr::transposeA(n.attrs);
        int64_t k = inType(0).shape[ta ? 0 : 1];
        call("graphc_rt_packed_matmul", {in(0), in(1), buffer(n), i64(n.type.shape[0]), i64(n.type.shape[1]), i64(k),
                                         i32(ta), products(inType(1).shape[2])});
        return;
      }
      case OpKind::ReduceSum:
      case OpKind::ReduceMean:
      case OpKind::ReduceMax: {
        const TensorType& t = inType(0);
        std::vector<int64_t> d = {n.op == OpKind::ReduceSum ? 0 : n.op == OpKind::ReduceMean ? 1 : 2,
                                  t.dtype == DType::I32, t.rank()};
        d.insert(d.end(), t.shape.begin(), t.shape.end());
        std::vector<int64_t> reduced(size_t(t.rank()), 0);
        for (int64_t a : attr::axes(n.attrs)) reduced[size_t(a)] = 1;
        d.insert(d.end(), reduced.begin(), reduced.end());
        call("graphc_rt_reduce", {in(0), buffer(n), desc(d)});
        return;
      }
      case OpKind::ArgMax: {
        const TensorType& t = inType(0);
        int64_t axis = attr::axis(n.attrs);
        if (axis < 0) axis += t.rank();
        int64_t len = t.shape[size_t(axis)], inner = stridesOf(t.shape)[size_t(axis)];
        int64_t outer = (len * inner) != 0 ? t.numElements() / (len * inner) : 0;
        call("graphc_rt_argmax", {in(0), buffer(n), i64(outer), i64(len), i64(inner), i32(t.dtype == DType::I32)});
        return;
      }
      case OpKind::Broadcast: {
        const Shape& from = inType(0).shape;
        auto st = stridesOf(from);
        std::vector<int64_t> strides(n.type.shape.size(), 0);
        size_t off = n.type.shape.size() - from.size();
        for (size_t d = 0; d < from.size(); ++d) strides[off + d] = from[d] == 1 ? 0 : st[d];
        stridedCopy("graphc_rt_gather_strided", in(0), buffer(n), n.type.shape, strides, 0);
        return;
      }
      case OpKind::Reshape:
        if (offsetOf(n) != offsetOf(g_.node(n.operands[0])))
          call("graphc_rt_copy", {buffer(n), in(0), i64(n.type.numElements() * 4)});
        return;
      case OpKind::Transpose: {
        auto st = stridesOf(inType(0).shape);
        std::vector<int64_t> strides;
        for (int64_t p : attr::perm(n.attrs)) strides.push_back(st[size_t(p)]);
        stridedCopy("graphc_rt_gather_strided", in(0), buffer(n), n.type.shape, strides, 0);
        return;
      }
      case OpKind::Slice: {
        auto st = stridesOf(inType(0).shape);
        const auto& start = attr::start(n.attrs);
        int64_t base = 0;
        for (size_t d = 0; d < st.size(); ++d) base += start[d] * st[d];
        if (offsetOf(n) == offsetOf(g_.node(n.operands[0])) + base * 4) return;  // a view (plan pass)
        stridedCopy("graphc_rt_gather_strided", in(0), buffer(n), n.type.shape, st, base);
        return;
      }
      case OpKind::Pad: {
        auto st = stridesOf(n.type.shape);
        const auto& low = attr::low(n.attrs);
        int64_t base = 0;
        for (size_t d = 0; d < st.size(); ++d) base += low[d] * st[d];
        call("graphc_rt_fill", {buffer(n), i64(n.type.numElements()), i32(0)});
        stridedCopy("graphc_rt_scatter_strided", in(0), buffer(n), inType(0).shape, st, base);
        return;
      }
      case OpKind::Concat: {
        auto st = stridesOf(n.type.shape);
        int64_t axis = attr::axis(n.attrs);
        if (axis < 0) axis += n.type.rank();
        int64_t along = 0;
        int64_t before = 1;
        for (int64_t d = 0; d < axis; ++d) before *= n.type.shape[size_t(d)];
        for (size_t k = 0; k < n.operands.size(); ++k) {
          int64_t base = along * st[size_t(axis)];
          // An operand the plan pass computed in place is already there.
          bool inPlace = before == 1 && offsetOf(g_.node(n.operands[k])) == offsetOf(n) + base * 4;
          if (!inPlace) stridedCopy("graphc_rt_scatter_strided", in(k), buffer(n), inType(k).shape, st, base);
          along += inType(k).shape[size_t(axis)];
        }
        return;
      }
      case OpKind::AllReduce:
        call("graphc_rt_all_reduce", {in(0), buffer(n), i64(n.type.numElements())});
        return;
      case OpKind::RandomUniform: {
        int64_t cols = n.type.shape[0] != 0 ? n.type.numElements() / n.type.shape[0] : 0;
        call("graphc_rt_random_uniform", {in(0), buffer(n), i64(n.type.numElements()), i64(cols), i64(attr::stream(n.attrs))});
        return;
      }
      case OpKind::Attention:
      case OpKind::AttentionGrad: {
        const Shape& s = inType(0).shape;
        float scale = float(attr::scale(n.attrs, 1.0));
        uint32_t bits;
        std::memcpy(&bits, &scale, 4);
        if (n.op == OpKind::Attention)
          call("graphc_rt_attention", {in(0), in(1), in(2), buffer(n), i64(s[0]), i64(s[1]), i64(s[2]),
                                       i32(int64_t(bits)), i32(attr::causal(n.attrs))});
        else
          call("graphc_rt_attention_grad", {in(0), in(1), in(2), in(3), in(4), buffer(n), i64(s[0]), i64(s[1]),
                                            i64(s[2]), i32(int64_t(bits)), i32(attr::causal(n.attrs))});
        return;
      }
      case OpKind::Iota: {
        int64_t axis = attr::axis(n.attrs);
        if (axis < 0) axis += n.type.rank();
        int64_t len = n.type.shape[size_t(axis)], inner = stridesOf(n.type.shape)[size_t(axis)];
        call("graphc_rt_iota", {buffer(n), i64(n.type.numElements()), i64(len), i64(inner)});
        return;
      }
      case OpKind::OneHot:
        call("graphc_rt_one_hot", {in(0), buffer(n), i64(inType(0).numElements()), i64(attr::depth(n.attrs))});
        return;
      case OpKind::Gather:
        call("graphc_rt_gather_rows", {in(0), in(1), buffer(n), i64(inType(1).numElements()), i64(inType(0).shape[1]),
                                       i64(inType(0).shape[0]), i32(attr::zeroOutOfRange(n.attrs))});
        return;
      case OpKind::ScatterAdd:
        call("graphc_rt_scatter_add_rows", {in(0), in(1), buffer(n), i64(inType(1).numElements()),
                                            i64(n.type.shape[1]), i64(n.type.shape[0]),
                                            i32(attr::zeroOutOfRange(n.attrs))});
        return;
      case OpKind::LogSoftmax: {
        int64_t width = n.type.shape.back();
        call("graphc_rt_log_softmax", {in(0), buffer(n), i64(width ? n.type.numElements() / width : 0), i64(width)});
        return;
      }
      case OpKind::SoftmaxCrossEntropy:
        call("graphc_rt_softmax_cross_entropy",
             {in(0), in(1), buffer(n), i64(inType(0).shape[0]), i64(inType(0).shape[1])});
        return;
      default:
        // Ops that only live inside kernels (Op.def: Lower::InKernel) were
        // refused above; anything else reaching here has no lowering yet, which
        // the Op.def-driven test (tests/OpTableTests.cpp) reports for every op.
        throw Error(fmt::format("codegen: no lowering for '{}' (%{})", opName(n.op), n.name));
    }
  }

  llvm::Module& m_;
  const Graph& g_;
  const Target& target_;
  const CodegenOptions& options_;
  ModuleStats& stats_;
  std::vector<EntryCall> calls_;  // the entry's calls, in order, before re-rolling
  std::map<std::vector<int64_t>, llvm::GlobalVariable*> descs_;
  std::set<int64_t> productTables_;  // panel widths whose micro-kernels are emitted
  llvm::IRBuilder<> b_;
  llvm::Function* entry_ = nullptr;
  std::map<std::string, llvm::Function*> kernels_;  // body text -> function: one copy per distinct kernel
  std::map<std::string, llvm::Function*> epilogues_;  // the same, as column-range epilogues

 public:
  int uniqueKernels() const { return int(kernels_.size() + epilogues_.size()); }
};

}  // namespace

std::unique_ptr<llvm::Module> buildModule(llvm::LLVMContext& ctx, const Graph& g, const Target& target,
                                          const CodegenOptions& options, ModuleStats* stats) {
  auto m = std::make_unique<llvm::Module>("graphc." + g.name, ctx);
  ModuleStats local;
  EntryBuilder eb(*m, g, target, options, stats ? *stats : local);
  eb.build();
  if (stats) stats->uniqueKernels = eb.uniqueKernels();
  return m;
}

}  // namespace graphc
