// codegen/EntryBuilder.cpp — the entry function's machinery: the walk over
// the nodes, typed runtime calls, descriptors, product tables, kernel copies.
#include "codegen/EntryBuilder.h"

#include "codegen/KernelEmitter.h"
#include "codegen/ProductEmitter.h"
#include "codegen/RuntimeKernels.h"
#include "target/Fusability.h"
#include "graph/Analysis.h"
#include "graph/TextIR.h"

namespace graphc {

void EntryBuilder::build() {
  llvm::LLVMContext& ctx = m_.getContext();
  auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy()}, false);
  entry_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, kEntryName, m_);
  entry_->addFnAttr(llvm::Attribute::NoUnwind);
  b_.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", entry_));
  const std::vector<RunSpan> spans = runSpans(g_);
  for (size_t i = 0; i < g_.size(); ++i) {
    if (spans[i].last > int64_t(i)) {
      lowerWithEpilogue(i, size_t(spans[i].last));
      i = size_t(spans[i].last);
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

llvm::FunctionCallee EntryBuilder::runtime(const char* name, std::vector<llvm::Type*> params) {
  auto* type = llvm::FunctionType::get(b_.getVoidTy(), params, false);
  return m_.getOrInsertFunction(name, type);
}

void EntryBuilder::call(const char* name, std::vector<CallArg> args) {
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

llvm::Constant* EntryBuilder::desc(const std::vector<int64_t>& values) {
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

llvm::Constant* EntryBuilder::products(int64_t width) {
  llvm::GlobalVariable* table = productKernelTable(m_, target_, width, options_.blockK);
  if (productTables_.insert(width).second) {
    auto* init = llvm::cast<llvm::ConstantStruct>(table->getInitializer());
    auto* kernels = llvm::cast<llvm::ConstantArray>(init->getOperand(3));
    for (unsigned r = 0; r < kernels->getNumOperands(); ++r)
      if (!llvm::isa<llvm::ConstantPointerNull>(kernels->getOperand(r))) ++stats_.tileKernels;
  }
  return table;
}

llvm::Function* EntryBuilder::columnRangeKernel(const Node& fused) {
  std::string key = printGraph(*fused.body);
  auto it = epilogues_.find(key);
  if (it == epilogues_.end()) {
    std::string name = fmt::format("columns_{}", epilogues_.size());
    it = epilogues_.emplace(key, emitColumnRangeKernel(m_, *fused.body, name, target_.panelWidth())).first;
  }
  return it->second;
}

CallArg EntryBuilder::pointerArray(const Node& fused) {
  std::vector<int64_t> offsets = {offsetOf(fused)};
  for (ValueId o : fused.operands) offsets.push_back(offsetOf(g_.node(o)));
  return CallArg::pointers(std::move(offsets));
}

}  // namespace graphc
