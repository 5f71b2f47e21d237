// target/TargetMachine.cpp — LLVM's TargetMachine for a Target, and the
// attributes that make a module's functions use it.
#include "target/TargetMachine.h"

#include <fmt/format.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/IR/Function.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/TargetParser/Triple.h>
#include <mutex>

#include "graph/Error.h"

namespace graphc {

void initializeLlvmTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

std::unique_ptr<llvm::TargetMachine> createTargetMachine(const Target& target, bool positionIndependent) {
  initializeLlvmTargets();
  llvm::orc::JITTargetMachineBuilder jtmb{llvm::Triple(target.triple)};
  jtmb.setCPU(target.cpu);
  if (!target.features.empty()) {
    llvm::SubtargetFeatures features;
    features.addFeaturesVector({});
    std::string list = target.features;
    for (size_t start = 0; start < list.size();) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      if (comma > start) features.AddFeature(list.substr(start, comma - start));
      start = comma + 1;
    }
    jtmb.addFeatures(features.getFeatures());
  }
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Default);
  if (positionIndependent) {  // what a C compiler gives a library's objects (the JIT's default is the large model)
    jtmb.setRelocationModel(llvm::Reloc::PIC_);
    jtmb.setCodeModel(llvm::CodeModel::Small);
  }
  auto tm = jtmb.createTargetMachine();
  if (!tm) throw Error(fmt::format("llvm: creating the target machine for {}: {}", target.cpu,
                                   llvm::toString(tm.takeError())));
  return std::move(*tm);
}

void setTargetAttributes(llvm::Module& m, llvm::TargetMachine& tm, const Target& target) {
  m.setDataLayout(tm.createDataLayout());
  m.setTargetTriple(tm.getTargetTriple().str());
  for (llvm::Function& f : m) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", target.cpu);
    if (!target.features.empty()) f.addFnAttr("target-features", target.features);
    f.addFnAttr("prefer-vector-width", std::to_string(target.vectorBits));
  }
}

}  // namespace graphc
