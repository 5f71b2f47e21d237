// codegen/PerfMap.cpp — see PerfMap.h.
#include "codegen/PerfMap.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unistd.h>
#include <vector>

#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/FormatVariadic.h>

namespace graphc {

void addToPerfMap(const std::string& object, llvm::orc::LLJIT& jit) {
  if (!std::getenv("GRAPHC_PERF_MAP")) return;
  auto file = llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(object, "graphc.o"));
  if (!file) {
    llvm::consumeError(file.takeError());
    return;
  }
  struct Function {
    std::string name;
    uint64_t offset, size;
    bool global;
  };
  std::map<uint64_t, std::vector<Function>> bySection;  // section index -> its functions
  for (const llvm::object::SymbolRef& symbol : (*file)->symbols()) {
    auto type = symbol.getType();
    auto name = symbol.getName();
    auto section = symbol.getSection();
    auto value = symbol.getValue();
    auto flags = symbol.getFlags();
    if (!type || !name || !section || !value || !flags || *type != llvm::object::SymbolRef::ST_Function ||
        *section == (*file)->section_end()) {
      if (!type) llvm::consumeError(type.takeError());
      if (!name) llvm::consumeError(name.takeError());
      if (!section) llvm::consumeError(section.takeError());
      if (!value) llvm::consumeError(value.takeError());
      if (!flags) llvm::consumeError(flags.takeError());
      continue;
    }
    uint64_t size = llvm::object::ELFSymbolRef(symbol).getSize();
    bySection[(*section)->getIndex()].push_back(
        {name->str(), *value, size, (*flags & llvm::object::SymbolRef::SF_Global) != 0});
  }
  // A section is loaded whole: one global function's address places all of its functions.
  std::string lines;
  for (const auto& [index, functions] : bySection) {
    uint64_t base = 0;
    bool anchored = false;
    for (const Function& f : functions) {
      if (!f.global) continue;
      auto address = jit.lookup(f.name);
      if (!address) {
        llvm::consumeError(address.takeError());
        continue;
      }
      base = address->getValue() - f.offset;
      anchored = true;
      break;
    }
    if (!anchored) continue;
    for (const Function& f : functions)
      lines += llvm::formatv("{0:x} {1:x} graphc:{2}\n", base + f.offset, f.size > 0 ? f.size : 1, f.name).str();
  }
  static std::mutex mutex;  // objects load on several threads (shards, generation)
  std::lock_guard<std::mutex> lock(mutex);
  std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  if (FILE* out = std::fopen(path.c_str(), "a")) {
    std::fwrite(lines.data(), 1, lines.size(), out);
    std::fclose(out);
  }
}

}  // namespace graphc
