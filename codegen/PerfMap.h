// codegen/PerfMap.h — names for JIT code in `perf report`: with GRAPHC_PERF_MAP
// set, every object the JIT links adds its functions to /tmp/perf-<pid>.map
// (the file perf reads for code it cannot find in a file on disk).
#pragma once

#include <memory>

namespace llvm::orc {
class LLJIT;
}

namespace graphc {

// Makes `jit` append the functions of every object it links from now on
// (local ones too: the product tiles are internal) to this process's perf
// map, at the addresses the linker gave them, when GRAPHC_PERF_MAP is set;
// nothing otherwise. Call before adding objects. Errors are ignored: the map
// is a diagnostic.
void addPerfMapTo(llvm::orc::LLJIT& jit);

// Frees `jit` and its code, except when GRAPHC_PERF_MAP is set (then it is
// kept until the process ends): a perf map cannot say that code went away,
// so code loaded later at the same addresses would be named twice (a run's
// generation program over its training step's tiles) and perf would credit
// one function's samples to another. The owners of JIT code call this from
// their destructors.
void releaseJit(std::unique_ptr<llvm::orc::LLJIT>& jit);

}  // namespace graphc
