// codegen/ThreadPool.h — the worker threads the runtime kernels split large
// products across. Workers spin briefly between calls (the kernels of one
// training step arrive microseconds apart), at most ~50 us, then sleep on a futex.
#pragma once

#include <functional>

namespace graphc {

// Threads used by runtime kernels, the caller included; 0 = the CPUs this
// process may use (its affinity mask and cgroup quota: codegen/Target.h).
void setKernelThreads(int threads);
// The threads the next parallel call will use: the requested count, or 1
// while the workers are starved by another busy process (ThreadPool.cpp).
int kernelThreads();
// The count setKernelThreads was given (0 resolved), for reports.
int requestedKernelThreads();

// Runs fn(0) .. fn(parts - 1), part 0 on the calling thread, the rest on
// workers; returns when all are done. parts <= kernelThreads().
void parallelFor(int parts, const std::function<void(int)>& fn);

// Runs fn(begin, end) over ranges covering [0, count) on all kernel threads.
// Each thread takes the next range when it finishes one; ranges start at
// 1/(2 x threads) of what is left and shrink to `grain` (guided scheduling),
// so the threads finish together even when a worker wakes late or a core is
// slower for a while. grain >= count / threads gives one static range each.
void parallelRanges(int64_t count, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace graphc
