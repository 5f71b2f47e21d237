// runtime/Threads.cpp — forwards to the kernels' thread pool and the target.
#include "runtime/Threads.h"

#include "codegen/Target.h"
#include "codegen/ThreadPool.h"

namespace graphc::runtime {

void setThreads(int threads) { setKernelThreads(threads); }
int threads() { return requestedKernelThreads(); }
int usableCpus() { return graphc::usableCpus(); }

}  // namespace graphc::runtime
