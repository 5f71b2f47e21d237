// codegen/PerfMap.h — names for JIT code in `perf report`: with GRAPHC_PERF_MAP
// set, every object the JIT loads adds its functions to /tmp/perf-<pid>.map
// (the file perf reads for code it cannot find in a file on disk).
#pragma once

#include <string>

namespace llvm::orc {
class LLJIT;
}

namespace graphc {

// Appends the functions of `object` (just loaded into `jit`) to this
// process's perf map, when GRAPHC_PERF_MAP is set; nothing otherwise. A
// section whose functions are all local gets no names (no address to anchor
// it); errors are ignored: the map is a diagnostic.
void addToPerfMap(const std::string& object, llvm::orc::LLJIT& jit);

}  // namespace graphc
