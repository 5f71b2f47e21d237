// codegen/ThreadPool.h — the worker threads the runtime kernels split large
// products across. Workers spin briefly between calls (the kernels of one
// training step arrive microseconds apart), then sleep on a futex.
#pragma once

#include <functional>

namespace graphc {

// Threads used by runtime kernels, the caller included; 0 = the machine's cores.
void setKernelThreads(int threads);
int kernelThreads();

// Runs fn(0) .. fn(parts - 1), part 0 on the calling thread, the rest on
// workers; returns when all are done. parts <= kernelThreads().
void parallelFor(int parts, const std::function<void(int)>& fn);

}  // namespace graphc
