// codegen/ModuleBuilder.cpp — see ModuleBuilder.h; the entry function is
// built by EntryBuilder.h.
#include "codegen/ModuleBuilder.h"

#include "codegen/EntryBuilder.h"

namespace graphc {

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
