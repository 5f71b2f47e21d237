// runtime/Threads.h — how many threads the runtime's kernels use. The pool
// itself belongs to the kernels (kernels/team.h); callers above the
// runtime set it here.
#pragma once

namespace graphc::runtime {

// 0: the CPUs this process may use (affinity mask, cgroup quota).
void setThreads(int threads);
// What setThreads resolved to.
int threads();
// The CPUs this process may use.
int usableCpus();

}  // namespace graphc::runtime
