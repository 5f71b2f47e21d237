// runtime/ShardWorld.h — the shards of a batch that one process trains, each
// a worker of its own (a trainer on a thread), as ranks of one world.
//
// A batch of B rows is cut into S shards of B/S rows, fixed by the run (not by
// how many threads or processes train it). Process p of R holds shards
// [p*S/R, (p+1)*S/R). Every collective combines the shards' contributions in an
// order fixed by S alone: sums over a pairwise tree of the shard indices
// ((s0+s1)+(s2+s3) for four), so 1 thread, 2 threads, 2 ranks x 1 thread and 2
// ranks x 2 threads add the same floats in the same order and write the same
// bits. Within a process the tree is folded in shared memory, across processes
// through the outer communicator (MPI).
//
// At most `running` shards compute at once (the threads the run was given): a
// shard holds a turn while it computes and gives it up while it waits for the
// others in a collective. Local shard 0 is the caller's thread, and it alone
// reaches the outer communicator (MPI is initialized for one calling thread).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/Communicator.h"

namespace graphc {

class ShardWorld {
 public:
  // `local` shards in this process, `outer` the processes (nullptr: one).
  // With more than one process, `local` must be a power of two so each
  // process's shards are a subtree of the fixed tree.
  ShardWorld(int local, Communicator* outer, int running);
  ~ShardWorld();
  ShardWorld(const ShardWorld&) = delete;
  ShardWorld& operator=(const ShardWorld&) = delete;

  int localShards() const { return local_; }
  int totalShards() const;
  // The communicator local shard i trains through (rank = its global shard index).
  Communicator& shard(int i);

  // body(i) for every local shard at once, shard 0 on the calling thread, the
  // others on threads of their own, each holding a turn while it runs; the
  // kernels' own thread team is kept to one thread meanwhile (the shards are
  // the parallelism). When one throws, the others' collectives fail too, and
  // the first exception (the lowest shard's) is rethrown here.
  void runAll(const std::function<void(int)>& body);

  AllReduceStats outerStats() const { return outer_ ? outer_->allReduceStats() : AllReduceStats{}; }

  // Sums `parts` (each n floats) in place into parts[0] over the pairwise tree
  // of their indices. Exposed for the tests.
  static void foldPairwise(const std::vector<float*>& parts, int64_t n);

 private:
  class Endpoint;
  struct Post {
    const float* in = nullptr;
    float* out = nullptr;
    int64_t n = 0;
    bool flag = false;
  };
  // The rendezvous of one collective: every local shard posts; shard 0 waits
  // for all, runs `combine` over the posts, and lets the others go.
  void meet(int i, Post post, const std::function<void(std::vector<Post>&)>& combine);
  void allReduceSum(int i, float* data, int64_t n);
  bool anyOf(int i, bool mine);
  void allGather(int i, const float* data, int64_t n, float* out);
  // Every shard on a core of its own, in one process: the collectives spin
  // on atomics (a wake-up through the kernel costs tens of microseconds in a
  // VM) and the shards fold their slices of a sum at once.
  void spinBarrier();
  void allReduceSpinning(int i, float* data, int64_t n);
  bool anyOfSpinning(int i, bool mine);
  void acquireTurn();
  void releaseTurn();
  void fail(std::exception_ptr e);  // every collective fails from now on

  int local_, running_;
  Communicator* outer_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Post> posts_;
  int arrived_ = 0;
  int64_t generation_ = 0;
  int turnsFree_ = 0;
  bool failed_ = false;  // a shard threw: every collective fails from now on
  std::exception_ptr firstFailure_;
  bool flagResult_ = false;
  std::vector<float> gathered_;  // the outer all_gather's buffer
  bool spinning_ = false;
  std::atomic<bool> failedFlag_{false};  // failed_, read without the lock
  std::atomic<int> barrierArrived_{0};
  std::atomic<int64_t> barrierGeneration_{0};
  std::vector<float*> parts_;  // each shard's buffer of the sum under way
  // anyOf's answers: round r uses flag r % 3 (the one two rounds back is clear to reuse).
  std::array<std::atomic<bool>, 3> anyFlags_{};
  std::vector<int64_t> anyRounds_;
  // The load monitor of the spinning collectives: a shard that another
  // process keeps from its core makes every step wait for it. Each shard
  // times its computing (wall and CPU clock) between collectives; at the end
  // of each window of all_reduces the shards vote, and one starved vote sends
  // them all solo (one shard computes at a time, taking turns, as with
  // --threads 1) for a while that doubles each time two shards at once
  // starve again (50 ms to 8 s: each return is a window of steps that wait
  // for the starved shard, 0.84x of one thread under a steady CPU hog with a
  // 2 s cap, 0.90x with 8 s; the seed, Zen 5).
  struct ShardClock {
    int64_t exitWall = 0, exitCpu = 0;        // when it left its last collective (0: not yet)
    int64_t computeWall = 0, computeCpu = 0;  // summed over the window
  };
  std::vector<ShardClock> clocks_;
  std::vector<int64_t> reduceRounds_;
  std::array<std::atomic<int>, 3> starvedVotes_{};  // window w's votes: slot w % 3
  std::vector<char> solo_;                          // per shard: its collectives take turns
  int64_t soloUntil_ = 0, backoff_ = 0;             // shard 0's, under mutex_
  void endSoloIfDue();                              // shard 0, under mutex_, all others waiting
};

}  // namespace graphc
