// runtime/ShardWorld.cpp — see ShardWorld.h.
#include "runtime/ShardWorld.h"

#include <algorithm>
#include <exception>
#include <fmt/format.h>
#include <thread>

#include "graph/Error.h"
#include "kernels/team.h"

namespace graphc {

class ShardWorld::Endpoint final : public Communicator {
 public:
  Endpoint(ShardWorld& world, int index) : world_(world), index_(index) {}
  int rank() const override { return (world_.outer_ ? world_.outer_->rank() : 0) * world_.local_ + index_; }
  int size() const override { return world_.totalShards(); }
  void allReduceSum(float* data, int64_t n) override { world_.allReduceSum(index_, data, n); }
  bool anyOf(bool mine) override { return world_.anyOf(index_, mine); }
  void allGather(const float* data, int64_t n, float* out) override { world_.allGather(index_, data, n, out); }
  AllReduceStats allReduceStats() const override { return world_.outerStats(); }

 private:
  ShardWorld& world_;
  int index_;
};

ShardWorld::ShardWorld(int local, Communicator* outer, int running)
    : local_(local), running_(std::clamp(running, 1, local)), outer_(outer), posts_(size_t(local)) {
  if (local < 1) throw Error(fmt::format("a process needs at least one shard, got {}", local));
  if (outer_ && outer_->size() > 1 && (local & (local - 1)) != 0)
    throw Error(fmt::format("--shards: {} shards per process do not form a subtree of the fixed summation order; "
                            "with several processes, give each a power of two",
                            local));
  for (int i = 0; i < local; ++i) endpoints_.push_back(std::make_unique<Endpoint>(*this, i));
  turnsFree_ = running_;
}

ShardWorld::~ShardWorld() = default;

int ShardWorld::totalShards() const { return local_ * (outer_ ? outer_->size() : 1); }

Communicator& ShardWorld::shard(int i) { return *endpoints_.at(size_t(i)); }

void ShardWorld::foldPairwise(const std::vector<float*>& parts, int64_t n) {
  // Level by level: part j takes part j + stride (the odd one out waits a level).
  for (size_t stride = 1; stride < parts.size(); stride *= 2)
    for (size_t j = 0; j + stride < parts.size(); j += 2 * stride) {
      float* a = parts[j];
      const float* b = parts[j + stride];
      for (int64_t x = 0; x < n; ++x) a[x] += b[x];
    }
}

// After a failure nobody waits for a turn (the counts no longer matter).
void ShardWorld::acquireTurn() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return turnsFree_ > 0 || failed_; });
  if (failed_) throw Error("another shard of this batch failed");
  --turnsFree_;
}

void ShardWorld::fail(std::exception_ptr e) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failed_) firstFailure_ = e;  // the others' failures follow from this one
    failed_ = true;
  }
  changed_.notify_all();
}

void ShardWorld::releaseTurn() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++turnsFree_;
  }
  changed_.notify_all();
}

void ShardWorld::meet(int i, Post post, const std::function<void(std::vector<Post>&)>& combine) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (failed_) throw Error("another shard of this batch failed");
  int64_t generation = generation_;
  posts_[size_t(i)] = post;
  ++arrived_;
  ++turnsFree_;  // waiting is not computing: another shard may run meanwhile
  changed_.notify_all();
  if (i == 0) {
    changed_.wait(lock, [&] { return arrived_ == local_ || failed_; });
    if (failed_) throw Error("another shard of this batch failed");
    --turnsFree_;  // every other shard is waiting here: the turn is free
    lock.unlock();
    try {
      combine(posts_);  // shard 0 alone, on the caller's thread: it may reach the outer communicator
    } catch (...) {
      fail(std::current_exception());
      throw;
    }
    lock.lock();
    arrived_ = 0;
    ++generation_;
    changed_.notify_all();
    return;
  }
  changed_.wait(lock, [&] { return generation_ != generation || failed_; });
  if (generation_ == generation) throw Error("another shard of this batch failed");
  changed_.wait(lock, [&] { return turnsFree_ > 0 || failed_; });
  --turnsFree_;
}

void ShardWorld::allReduceSum(int i, float* data, int64_t n) {
  meet(i, {data, data, n, false}, [this](std::vector<Post>& p) {
    std::vector<float*> parts;
    for (const Post& post : p) parts.push_back(post.out);
    foldPairwise(parts, p[0].n);
    if (outer_ && outer_->size() > 1) {
      if (outer_->size() == 2) {
        outer_->allReduceSum(p[0].out, p[0].n);  // a + b: the one order there is
      } else {
        // MPI's own order depends on the number of processes: gather the
        // processes' partial sums and fold them over the tree here.
        int ranks = outer_->size();
        gathered_.resize(size_t(ranks * p[0].n));
        outer_->allGather(p[0].out, p[0].n, gathered_.data());
        std::vector<float*> partials;
        for (int r = 0; r < ranks; ++r) partials.push_back(gathered_.data() + r * p[0].n);
        foldPairwise(partials, p[0].n);
        std::copy(gathered_.begin(), gathered_.begin() + p[0].n, p[0].out);
      }
    }
    for (size_t j = 1; j < p.size(); ++j) std::copy(p[0].out, p[0].out + p[0].n, p[j].out);
  });
}

bool ShardWorld::anyOf(int i, bool mine) {
  meet(i, {nullptr, nullptr, 0, mine}, [this](std::vector<Post>& p) {
    bool any = false;
    for (const Post& post : p) any = any || post.flag;
    flagResult_ = outer_ && outer_->size() > 1 ? outer_->anyOf(any) : any;
  });
  std::lock_guard<std::mutex> lock(mutex_);  // read after the meeting, before the next can start
  return flagResult_;
}

void ShardWorld::allGather(int i, const float* data, int64_t n, float* out) {
  meet(i, {data, out, n, false}, [this](std::vector<Post>& p) {
    const int64_t n = p[0].n, mine = n * local_;
    // This process's shards in order, then the processes in rank order.
    std::vector<float> local(static_cast<size_t>(mine));
    for (int j = 0; j < local_; ++j) std::copy(p[size_t(j)].in, p[size_t(j)].in + n, local.begin() + j * n);
    float* all = p[0].out;
    if (outer_ && outer_->size() > 1) outer_->allGather(local.data(), mine, all);
    else std::copy(local.begin(), local.end(), all);
    for (size_t j = 1; j < p.size(); ++j) std::copy(all, all + n * totalShards(), p[j].out);
  });
}

void ShardWorld::runAll(const std::function<void(int)>& body) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failed_) throw Error("a shard of this run failed earlier; the run cannot continue");
  }
  int teamThreads = graphc_team_requested();
  graphc_team_set_threads(1);
  auto runShard = [&](int i) {
    setThreadCommunicator(endpoints_[size_t(i)].get());
    try {
      acquireTurn();
      body(i);
      releaseTurn();
    } catch (...) {
      fail(std::current_exception());
    }
    setThreadCommunicator(nullptr);
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < local_; ++i) threads.emplace_back(runShard, i);
  runShard(0);
  for (auto& t : threads) t.join();
  graphc_team_set_threads(teamThreads);
  if (firstFailure_) std::rethrow_exception(firstFailure_);
}

}  // namespace graphc
