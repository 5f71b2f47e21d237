// runtime/Threads.cpp — forwards to the kernels' thread team and the target.
#include "runtime/Threads.h"

#include "target/Target.h"
#include "kernels/team.h"

namespace graphc::runtime {

void setThreads(int threads) { graphc_team_set_threads(threads <= 0 ? graphc::usableCpus() : threads); }
int threads() { return graphc_team_requested(); }
int usableCpus() { return graphc::usableCpus(); }

}  // namespace graphc::runtime
