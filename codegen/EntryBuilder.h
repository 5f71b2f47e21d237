// codegen/EntryBuilder.h — builds a step graph's entry function: one call
// per node, into a fused kernel or a runtime kernel, on pointers into the
// arena. EntryBuilder.cpp holds the calls' machinery, Lowering.cpp what each
// op becomes. Internal to codegen (ModuleBuilder.h is the interface).
#pragma once

#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "codegen/CallSequence.h"
#include "codegen/KernelEmitter.h"
#include "codegen/ModuleBuilder.h"
#include "graph/Error.h"
#include "graph/Graph.h"

namespace graphc {

class EntryBuilder {
 public:
  EntryBuilder(llvm::Module& m, const Graph& g, const Target& target, const CodegenOptions& options,
               ModuleStats& stats)
      : m_(m), g_(g), target_(target), options_(options), stats_(stats), b_(m.getContext()) {}

  void build();

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

  llvm::FunctionCallee runtime(const char* name, std::vector<llvm::Type*> params);
  // Records a call to a runtime kernel (emitted by emitCalls, maybe in a
  // loop). The kernel's type comes from codegen/RuntimeKernels.def; arguments
  // that do not fit it are a codegen error.
  void call(const char* name, std::vector<CallArg> args);
  // A private constant i64 array, for kernels that take a shape descriptor;
  // one global per distinct content, so the calls of every step pass the same one.
  llvm::Constant* desc(const std::vector<int64_t>& values);

  // The target's micro-kernels for panels `width` wide (one table per width).
  llvm::Constant* products(int64_t width);

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

  // The fused kernel as a column-range function (one copy per distinct body).
  llvm::Function* columnRangeKernel(const Node& fused);

  // A stack array of the kernel's pointers: its output, then its operands.
  CallArg pointerArray(const Node& fused);

  // Lowering.cpp: each node becomes calls, by its Op.def lowering kind.
  // A packed product and its epilogue chain, nodes [product, last] (marked by
  // `fuse`, checked by the verifier: target/Fusability.h): one product call
  // that runs the chain on each thread's columns as soon as they are final
  // (so it is split over threads too, and reads the product's columns while
  // they are in cache).
  void lowerWithEpilogue(size_t product, size_t last);
  void lower(const Node& n);
  void lowerConstant(const Node& n);
  void lowerFused(const Node& n);
  void lowerProduct(const Node& n);
  void lowerDataMovement(const Node& n);
  void lowerRuntimeKernel(const Node& n);

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
  std::map<std::string, llvm::Function*> chains_;  // the same for epilogue chains: their bodies and wiring

 public:
  int uniqueKernels() const { return int(kernels_.size() + epilogues_.size() + chains_.size()); }
};

}  // namespace graphc
