// codegen/Jit.cpp — target setup, optimization, object emission, caching, loading.
#include "codegen/Jit.h"

#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <mutex>

#include "codegen/ObjectCache.h"
#include "codegen/RuntimeKernels.h"

namespace graphc {
namespace {

// Bumped whenever the generated code changes meaning, so old cache entries miss.
constexpr const char* kCodegenVersion = "graphc-codegen-1";

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void check(llvm::Error e, const char* what) {
  if (e) throw Error(fmt::format("llvm: {}: {}", what, llvm::toString(std::move(e))));
}
template <typename T>
T check(llvm::Expected<T> v, const char* what) {
  if (!v) throw Error(fmt::format("llvm: {}: {}", what, llvm::toString(v.takeError())));
  return std::move(*v);
}

void initializeLlvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

llvm::orc::JITTargetMachineBuilder hostBuilder() {
  initializeLlvm();
  auto jtmb = check(llvm::orc::JITTargetMachineBuilder::detectHost(), "detecting the host CPU");
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Default);
  return jtmb;
}

std::unique_ptr<llvm::TargetMachine> hostMachine() {
  return check(hostBuilder().createTargetMachine(), "creating the target machine");
}

// Tags every function with the host CPU, and asks for 512-bit vectors where
// AVX-512 exists (LLVM's default tuning prefers 256 bits there).
void setTargetAttributes(llvm::Module& m, llvm::TargetMachine& tm) {
  m.setDataLayout(tm.createDataLayout());
  m.setTargetTriple(tm.getTargetTriple().str());
  std::string features = tm.getTargetFeatureString().str();
  bool avx512 = features.find("+avx512f") != std::string::npos;
  for (llvm::Function& f : m) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    f.addFnAttr("target-features", features);
    if (avx512) f.addFnAttr("prefer-vector-width", "512");
  }
}

void optimize(llvm::Module& m, llvm::TargetMachine& tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  llvm::TargetLibraryInfoImpl tlii(llvm::Triple(m.getTargetTriple()));
  fam.registerPass([&] { return llvm::TargetLibraryAnalysis(tlii); });
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
  mpm.run(m, mam);
}

std::string emitMachineCode(llvm::Module& m, llvm::TargetMachine& tm, llvm::CodeGenFileType type) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, type)) throw Error("llvm: the target cannot emit this file type");
  pm.run(m);
  return std::string(buffer.begin(), buffer.end());
}

std::string printModule(const llvm::Module& m) {
  std::string text;
  llvm::raw_string_ostream os(text);
  m.print(os, nullptr);
  return os.str();
}

std::unique_ptr<llvm::Module> buildVerifiedModule(llvm::LLVMContext& ctx, const Graph& g, ModuleStats* stats) {
  auto m = buildModule(ctx, g, stats);
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(*m, &os)) throw Error(fmt::format("codegen produced invalid LLVM IR: {}", os.str()));
  return m;
}

}  // namespace

std::string defaultCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/graphc";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/graphc";
  return "/tmp/graphc-cache";
}

std::string hostCpuDescription() {
  auto tm = hostMachine();
  return tm->getTargetCPU().str() + " " + tm->getTargetFeatureString().str();
}

CompiledGraph::~CompiledGraph() = default;

std::unique_ptr<CompiledGraph> CompiledGraph::compile(const Graph& g, const JitOptions& options, CompileReport* report) {
  CompileReport local;
  CompileReport& r = report ? *report : local;
  auto start = Clock::now();
  auto tm = hostMachine();
  auto ctx = std::make_unique<llvm::LLVMContext>();
  auto m = buildVerifiedModule(*ctx, g, &r.module);
  setTargetAttributes(*m, *tm);
  // The key covers everything the object depends on; the file name is its hash.
  std::string key = fmt::format("{}\n{}\n{}\n{}\nLLVM {}\nO2\n", kCodegenVersion, tm->getTargetTriple().str(),
                                tm->getTargetCPU().str(), tm->getTargetFeatureString().str(), LLVM_VERSION_STRING) +
                    printModule(*m);
  r.irSeconds = since(start);

  std::optional<ObjectCache> cache;
  if (options.useCache) cache.emplace(options.cacheDir.empty() ? defaultCacheDir() : options.cacheDir);
  std::optional<std::string> object;
  if (cache) {
    r.cacheFile = cache->pathFor(key);
    object = cache->load(key);
  }
  r.cacheHit = object.has_value();
  if (!object) {
    auto t = Clock::now();
    optimize(*m, *tm);
    r.optimizeSeconds = since(t);
    t = Clock::now();
    object = emitMachineCode(*m, *tm, llvm::CodeGenFileType::ObjectFile);
    r.codegenSeconds = since(t);
    if (cache) cache->store(key, *object);
  }

  auto t = Clock::now();
  std::unique_ptr<CompiledGraph> compiled(new CompiledGraph());
  compiled->jit_ = check(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(hostBuilder()).create(), "creating LLJIT");
  llvm::orc::LLJIT& jit = *compiled->jit_;
  llvm::orc::SymbolMap symbols;
  for (const auto& [name, address] : runtimeKernelSymbols())
    symbols[jit.mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                                          llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  check(jit.getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols))), "registering runtime kernels");
  check(jit.addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(*object, "graphc.o")), "loading the object");
  auto entry = check(jit.lookup(kEntryName), "looking up the entry");
  compiled->entry_ = entry.toPtr<EntryFunction>();
  r.loadSeconds = since(t);
  return compiled;
}

std::string emitCode(const Graph& g, EmitKind kind) {
  auto tm = hostMachine();
  llvm::LLVMContext ctx;
  auto m = buildVerifiedModule(ctx, g, nullptr);
  setTargetAttributes(*m, *tm);
  if (kind == EmitKind::LlvmIr) return printModule(*m);
  optimize(*m, *tm);
  if (kind == EmitKind::OptimizedLlvmIr) return printModule(*m);
  return emitMachineCode(*m, *tm, kind == EmitKind::Assembly ? llvm::CodeGenFileType::AssemblyFile
                                                              : llvm::CodeGenFileType::ObjectFile);
}

}  // namespace graphc
