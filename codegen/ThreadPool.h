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

// Runs fn(0) .. fn(chunks - 1) on all kernel threads, each taking the next
// chunk as it finishes one: a worker that wakes late, or a core that is slower
// for a while, takes fewer chunks instead of holding up the rest.
void parallelChunks(int64_t chunks, const std::function<void(int64_t)>& fn);

}  // namespace graphc
