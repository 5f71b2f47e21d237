// codegen/Jit.h — from a planned graph to a callable native entry: LLVM IR,
// the new pass manager for the target CPU (target/Target.h), object code, a disk cache of that
// object, and ORC LLJIT to load it with the runtime kernels bound by name.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include "codegen/ModuleBuilder.h"
#include "codegen/CompiledProducts.h"
#include "target/Target.h"
#include "graph/Graph.h"

namespace llvm::orc {
class LLJIT;
}

namespace graphc {

struct JitOptions {
  std::string cacheDir;  // "" = the default (defaultCacheDir())
  bool useCache = true;
  Target target = hostTarget();  // must run on this CPU (runsOnHost)
  CodegenOptions codegen;
};

struct CompileReport {
  double irSeconds = 0, optimizeSeconds = 0, codegenSeconds = 0, loadSeconds = 0;
  bool cacheHit = false;
  std::string cacheFile;  // "" when caching is off
  ModuleStats module;
};

using EntryFunction = void (*)(char* arena);

class CompiledGraph {
 public:
  // `g` must be fused and planned. Throws graphc::Error for every failure.
  static std::unique_ptr<CompiledGraph> compile(const Graph& g, const JitOptions& options, CompileReport* report);
  ~CompiledGraph();
  EntryFunction entry() const { return entry_; }

 private:
  CompiledGraph() = default;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  EntryFunction entry_ = nullptr;
};

enum class EmitKind { LlvmIr, OptimizedLlvmIr, Assembly, Object };
// The generated code as text (or object bytes) for `graphc compile --emit`,
// for any target LLVM knows.
std::string emitCode(const Graph& g, EmitKind kind, const Target& target = hostTarget(),
                     const CodegenOptions& options = {});

// The building blocks, for modules built by other emitters (codegen/GenerationProgram.h).
// Throws naming --target-cpu when code for `target` cannot run here.
void checkRunsOnHost(const Target& target);
// Tags `m` for the options' target, optimizes and emits it (or takes the
// object from the cache), and loads it with the runtime kernels bound.
std::unique_ptr<llvm::orc::LLJIT> compileAndLoad(std::unique_ptr<llvm::LLVMContext> ctx,
                                                 std::unique_ptr<llvm::Module> m, const JitOptions& options,
                                                 CompileReport& report, std::chrono::steady_clock::time_point start);
void* lookupSymbol(llvm::orc::LLJIT& jit, const std::string& name);
// LLVM's O2 pipeline for the target machine.
void optimize(llvm::Module& m, llvm::TargetMachine& tm);
std::string emitMachineCode(llvm::Module& m, llvm::TargetMachine& tm, llvm::CodeGenFileType type);
std::string printModule(const llvm::Module& m);

// $XDG_CACHE_HOME/graphc, else $HOME/.cache/graphc, else "" (no cache).
std::string defaultCacheDir();

}  // namespace graphc
