// runtime/Communicator.h — the processes of a data-parallel run. The trainer
// talks to the others through this interface; the MPI world (below) is the
// real one, tests may stand threads in for processes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace graphc {

// Time this rank spent in the gradient all_reduce: the transfer, plus
// waiting for slower ranks.
struct AllReduceStats {
  int64_t calls = 0;
  int64_t floats = 0;  // summed over the calls
  double seconds = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Sums data[0..n) over the ranks in place (every rank calls it with the same n).
  virtual void allReduceSum(float* data, int64_t n) = 0;
  // True on every rank when any rank passes true (the ranks agree to stop at the same step).
  virtual bool anyOf(bool mine) = 0;
  // Every rank's n floats, in rank order, into out[0..size()*n) on every rank.
  virtual void allGather(const float* data, int64_t n, float* out) = 0;
  virtual AllReduceStats allReduceStats() const { return {}; }
  // Whether every rank is a thread of this process running the same compiled code, so their
  // parameters cannot round apart (the trainer's per-epoch check is skipped).
  virtual bool ranksShareThisProcess() const { return false; }
};

// Makes `world` the communicator the all_reduce op reaches (codegen/Collectives.h);
// nullptr: back to one process.
void installCommunicator(Communicator* world);
// The same for the calling thread only, over the installed one (the shards of
// a batch trained on threads, runtime/ShardWorld.h); nullptr: back to that.
void setThreadCommunicator(Communicator* world);

// The world size mpirun/mpiexec's environment names (Open MPI's, PMIx's or a
// PMI launcher's), and how many ranks share this machine (1, 1 when not
// launched by one).
int launcherWorldSize();
int launcherLocalSize();
// This process's rank as the launcher's environment names it (0 when none):
// known before the world is joined, so rank 0 alone can report a bad flag.
int launcherRank();
// Whether this build of graphc has MPI (Open MPI was installed when it was built).
bool builtWithMpi();

// The MPI world: initializes MPI (once per process) and joins MPI_COMM_WORLD.
// A collective that has waited `timeoutSeconds` for the other ranks (one died
// or hangs) prints which rank and collective gave up and aborts the whole job.
// Throws when graphc was built without MPI.
std::unique_ptr<Communicator> joinMpiWorld(double timeoutSeconds);
// Ends MPI after a successful run (every rank calls it); without it, the
// launcher treats the exit as a failure.
void finishMpi();

}  // namespace graphc
