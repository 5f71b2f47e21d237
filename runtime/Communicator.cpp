// runtime/Communicator.cpp — the communicator the all_reduce op reaches, and
// what the launcher's environment says about the world. (The MPI world itself
// is mpi/MpiWorld.cpp, a module runtime/MpiModule.cpp loads.)
#include "runtime/Communicator.h"

#include <atomic>
#include <cstdlib>
#include <string>

#include "codegen/Collectives.h"

namespace graphc {
namespace {

std::atomic<Communicator*> installed{nullptr};
thread_local Communicator* threadWorld = nullptr;

void sumOverInstalled(float* data, int64_t n) {
  if (Communicator* world = threadWorld ? threadWorld : installed.load()) world->allReduceSum(data, n);
}

// The first of these variables the environment sets, as a number (fallback when none).
int environmentNumber(std::initializer_list<const char*> names, int fallback) {
  for (const char* name : names)
    if (const char* value = std::getenv(name); value && *value) {
      char* end = nullptr;
      long x = std::strtol(value, &end, 10);
      if (*end == '\0' && x >= 0 && x < (1 << 24)) return int(x);
    }
  return fallback;
}

}  // namespace

void installCommunicator(Communicator* world) {
  installed.store(world);
  setAllReduceSum(sumOverInstalled);
}

void setThreadCommunicator(Communicator* world) {
  threadWorld = world;
  setAllReduceSum(sumOverInstalled);
}

// Open MPI's mpirun, PMIx launchers (Open MPI 5, Slurm's srun --mpi=pmix) and PMI-2 launchers (MPICH's Hydra, srun).
int launcherWorldSize() { return environmentNumber({"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"}, 1); }
int launcherRank() { return environmentNumber({"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}, 0); }
int launcherLocalSize() {
  return environmentNumber({"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}, 1);
}

}  // namespace graphc
