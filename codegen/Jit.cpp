// codegen/Jit.cpp — target setup, optimization, object emission, caching, loading.
#include "codegen/Jit.h"
#include "codegen/PerfMap.h"

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
#include <map>
#include <mutex>

#include "codegen/ObjectCache.h"
#include "codegen/ProductEmitter.h"
#include "codegen/RuntimeKernels.h"
#include "target/TargetMachine.h"

namespace graphc {
namespace {

// Bumped whenever the generated code changes meaning, so old cache entries miss.
constexpr const char* kCodegenVersion = "graphc-codegen-3";

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

}  // namespace

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

namespace {

std::unique_ptr<llvm::Module> buildVerifiedModule(llvm::LLVMContext& ctx, const Graph& g, const Target& target,
                                                 const CodegenOptions& options, ModuleStats* stats) {
  auto m = buildModule(ctx, g, target, options, stats);
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(*m, &os)) throw Error(fmt::format("codegen produced invalid LLVM IR: {}", os.str()));
  return m;
}

}  // namespace

std::string defaultCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/graphc";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/graphc";
  return "";  // no per-user place: no cache (a shared /tmp directory would run what others put there)
}

CompiledGraph::~CompiledGraph() { releaseJit(jit_); }

std::unique_ptr<llvm::orc::LLJIT> compileAndLoad(std::unique_ptr<llvm::LLVMContext> ctx,
                                                 std::unique_ptr<llvm::Module> m, const JitOptions& options,
                                                 CompileReport& r, std::chrono::steady_clock::time_point start) {
  const Target& target = options.target;
  auto tm = createTargetMachine(target);
  setTargetAttributes(*m, *tm, target);
  // The key covers everything the object depends on; the file name is its hash.
  std::string key = fmt::format("{}\n{}\n{}\n{}\nLLVM {}\nO2\n", kCodegenVersion, target.triple, target.cpu,
                                target.features, LLVM_VERSION_STRING) +
                    printModule(*m);
  r.irSeconds = since(start);

  std::optional<ObjectCache> cache;
  std::string cacheDir = options.cacheDir.empty() ? defaultCacheDir() : options.cacheDir;
  if (options.useCache && !cacheDir.empty()) cache.emplace(cacheDir);
  // What the module defines for its callers: a cached object must define it
  // all (an entry whose key matched but whose object is another graph's is
  // dropped and rebuilt, not an error on every later run).
  std::vector<std::string> exported;
  for (const llvm::GlobalValue& v : m->global_values())
    if (!v.isDeclaration() && v.hasExternalLinkage()) exported.push_back(v.getName().str());
  auto load = [&](const std::string& object) -> llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> {
    auto jit = llvm::orc::LLJITBuilder().create();
    if (!jit) return jit.takeError();
    addPerfMapTo(**jit);
    llvm::orc::SymbolMap symbols;
    for (const auto& [name, address] : runtimeKernelSymbols())
      symbols[(*jit)->mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                                                llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
    if (auto e = (*jit)->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols)))) return e;  // moved implicitly (C++20)
    if (auto e = (*jit)->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(object, "graphc.o"))) return e;  // moved implicitly (C++20)
    for (const std::string& name : exported)
      if (auto address = (*jit)->lookup(name); !address) return address.takeError();
    return jit;
  };

  std::optional<std::string> object;
  if (cache) {
    r.cacheFile = cache->pathFor(key);
    object = cache->load(key);
  }
  r.cacheHit = object.has_value();
  std::unique_ptr<llvm::orc::LLJIT> jit;
  if (object) {
    auto t = Clock::now();
    auto loaded = load(*object);
    r.loadSeconds = since(t);
    if (loaded) {
      jit = std::move(*loaded);
    } else {
      llvm::consumeError(loaded.takeError());
      cache->drop(key);
      r.cacheHit = false;
    }
  }
  if (!jit) {
    auto t = Clock::now();
    optimize(*m, *tm);
    r.optimizeSeconds = since(t);
    t = Clock::now();
    std::string fresh = emitMachineCode(*m, *tm, llvm::CodeGenFileType::ObjectFile);
    r.codegenSeconds = since(t);
    if (cache) cache->store(key, fresh);
    t = Clock::now();
    jit = check(load(fresh), "loading the compiled object");
    r.loadSeconds = since(t);
  }
  m.reset();  // before its context, whatever order the caller's arguments are destroyed in
  ctx.reset();
  return jit;
}

std::unique_ptr<CompiledGraph> CompiledGraph::compile(const Graph& g, const JitOptions& options, CompileReport* report) {
  CompileReport local;
  CompileReport& r = report ? *report : local;
  checkRunsOnHost(options.target);
  auto start = Clock::now();
  auto ctx = std::make_unique<llvm::LLVMContext>();
  auto m = buildVerifiedModule(*ctx, g, options.target, options.codegen, &r.module);
  std::unique_ptr<CompiledGraph> compiled(new CompiledGraph());
  compiled->jit_ = compileAndLoad(std::move(ctx), std::move(m), options, r, start);
  compiled->entry_ = check(compiled->jit_->lookup(kEntryName), "looking up the entry").toPtr<EntryFunction>();
  return compiled;
}

void checkRunsOnHost(const Target& target) {
  if (!runsOnHost(target))
    throw Error(fmt::format("code for --target-cpu {} cannot run on this CPU ({}); use it with `graphc compile --emit`",
                            target.cpu, hostTarget().cpu));
}

void* lookupSymbol(llvm::orc::LLJIT& jit, const std::string& name) {
  return check(jit.lookup(name), "looking up a compiled function").toPtr<void*>();
}

const ProductKernels& compiledProductKernels(const Target& target) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<llvm::orc::LLJIT>> compiled;
  std::lock_guard<std::mutex> lock(mutex);
  if (!runsOnHost(target)) throw Error(fmt::format("product kernels for {} cannot run on this CPU", target.cpu));
  std::string key = target.cpu + " " + target.features + " " + target.describe();
  auto& jit = compiled[key];
  if (!jit) {
    auto tm = createTargetMachine(target);
    auto ctx = std::make_unique<llvm::LLVMContext>();
    auto m = std::make_unique<llvm::Module>("graphc.products", *ctx);
    llvm::GlobalVariable* table = productKernelTable(*m, target, target.panelWidth(), /*blockK=*/true);
    table->setLinkage(llvm::GlobalValue::ExternalLinkage);
    table->setName("graphc_product_table");
    setTargetAttributes(*m, *tm, target);
    optimize(*m, *tm);
    std::string object = emitMachineCode(*m, *tm, llvm::CodeGenFileType::ObjectFile);
    jit = check(llvm::orc::LLJITBuilder().create(), "creating LLJIT");
    addPerfMapTo(*jit);
    check(jit->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(object, "products.o")), "loading the products");
  }
  auto address = check(jit->lookup("graphc_product_table"), "looking up the product table");
  return *address.toPtr<const ProductKernels*>();
}

std::string emitCode(const Graph& g, EmitKind kind, const Target& target, const CodegenOptions& options) {
  auto tm = createTargetMachine(target);
  llvm::LLVMContext ctx;
  auto m = buildVerifiedModule(ctx, g, target, options, nullptr);
  setTargetAttributes(*m, *tm, target);
  if (kind == EmitKind::LlvmIr) return printModule(*m);
  optimize(*m, *tm);
  if (kind == EmitKind::OptimizedLlvmIr) return printModule(*m);
  return emitMachineCode(*m, *tm, kind == EmitKind::Assembly ? llvm::CodeGenFileType::AssemblyFile
                                                              : llvm::CodeGenFileType::ObjectFile);
}

}  // namespace graphc
