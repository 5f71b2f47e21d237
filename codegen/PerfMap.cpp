// codegen/PerfMap.cpp — see PerfMap.h. The names are written by a JITLink
// pass that runs after fixup, so each function's address is the one it was
// linked at. (Placing a section by one global function's address and the
// object file's offsets put a third of the names of a training step's
// objects over another function's code.)
#include "codegen/PerfMap.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>
#include <unistd.h>

#include <llvm/ExecutionEngine/JITLink/JITLink.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>
#include <llvm/Support/FormatVariadic.h>

namespace graphc {
namespace {

void appendToPerfMap(const std::string& lines) {
  static std::mutex mutex;  // objects link on several threads (shards, generation)
  std::lock_guard<std::mutex> lock(mutex);
  std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  if (FILE* out = std::fopen(path.c_str(), "a")) {
    std::fwrite(lines.data(), 1, lines.size(), out);
    std::fclose(out);
  }
}

bool named(const llvm::jitlink::Symbol& symbol) {
  return symbol.hasName() && symbol.isCallable() && symbol.getSize() > 0;
}

class PerfMapPlugin : public llvm::orc::ObjectLinkingLayer::Plugin {
 public:
  void modifyPassConfig(llvm::orc::MaterializationResponsibility&, llvm::jitlink::LinkGraph&,
                        llvm::jitlink::PassConfiguration& config) override {
    // Local functions (the product tiles, the fused kernels) are referenced through their
    // section, not by name, so pruning would drop their names; kept, they cost nothing.
    config.PrePrunePasses.push_back([](llvm::jitlink::LinkGraph& graph) {
      for (llvm::jitlink::Symbol* symbol : graph.defined_symbols())
        if (named(*symbol)) symbol->setLive(true);
      return llvm::Error::success();
    });
    config.PostFixupPasses.push_back([](llvm::jitlink::LinkGraph& graph) {
      std::string lines;
      for (llvm::jitlink::Symbol* symbol : graph.defined_symbols())
        if (named(*symbol))
          lines += llvm::formatv("{0:x} {1:x} graphc:{2}\n", symbol->getAddress().getValue(), symbol->getSize(),
                                 symbol->getName())
                       .str();
      appendToPerfMap(lines);
      return llvm::Error::success();
    });
  }
  llvm::Error notifyFailed(llvm::orc::MaterializationResponsibility&) override { return llvm::Error::success(); }
  llvm::Error notifyRemovingResources(llvm::orc::JITDylib&, llvm::orc::ResourceKey) override {
    return llvm::Error::success();
  }
  void notifyTransferringResources(llvm::orc::JITDylib&, llvm::orc::ResourceKey, llvm::orc::ResourceKey) override {}
};

}  // namespace

void addPerfMapTo(llvm::orc::LLJIT& jit) {
  if (!std::getenv("GRAPHC_PERF_MAP")) return;
  if (auto* linking = llvm::dyn_cast<llvm::orc::ObjectLinkingLayer>(&jit.getObjLinkingLayer()))
    linking->addPlugin(std::make_unique<PerfMapPlugin>());
}

void releaseJit(std::unique_ptr<llvm::orc::LLJIT>& jit) {
  if (jit && std::getenv("GRAPHC_PERF_MAP")) {  // kept until the process ends: see PerfMap.h
    static std::mutex mutex;
    static auto* kept = new std::vector<std::unique_ptr<llvm::orc::LLJIT>>();  // reachable, never freed
    std::lock_guard<std::mutex> lock(mutex);
    kept->push_back(std::move(jit));
  }
  jit.reset();
}

}  // namespace graphc
