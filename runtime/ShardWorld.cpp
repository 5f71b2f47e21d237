// runtime/ShardWorld.cpp — see ShardWorld.h.
#include "runtime/ShardWorld.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <exception>
#include <fmt/format.h>
#include <thread>

#include "graph/Error.h"
#include "kernels/team.h"

namespace graphc {
namespace {

// The load monitor's window (all_reduces, and the least computing in it that
// says anything), and how long shards stay solo after a starved window.
constexpr int64_t kWindowCalls = 8;
constexpr int64_t kWindowMinNs = 10'000'000;
constexpr int64_t kFirstSoloNs = 50'000'000, kMaxSoloNs = 8'000'000'000;

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int64_t threadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

class ShardWorld::Endpoint final : public Communicator {
 public:
  Endpoint(ShardWorld& world, int index) : world_(world), index_(index) {}
  int rank() const override { return (world_.outer_ ? world_.outer_->rank() : 0) * world_.local_ + index_; }
  int size() const override { return world_.totalShards(); }
  void allReduceSum(float* data, int64_t n) override { world_.allReduceSum(index_, data, n); }
  bool anyOf(bool mine) override { return world_.anyOf(index_, mine); }
  void allGather(const float* data, int64_t n, float* out) override { world_.allGather(index_, data, n, out); }
  AllReduceStats allReduceStats() const override { return world_.outerStats(); }
  bool ranksShareThisProcess() const override { return !world_.outer_ || world_.outer_->size() == 1; }

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
  spinning_ = local_ > 1 && running_ == local_ && (!outer_ || outer_->size() == 1);
  parts_.resize(size_t(local_));
  anyRounds_.resize(size_t(local_));
  clocks_.resize(size_t(local_));
  reduceRounds_.resize(size_t(local_));
  solo_.resize(size_t(local_));
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
  failedFlag_.store(true);
  barrierGeneration_.fetch_add(1);  // wakes the spinning barrier's sleepers, who then see the failure
  barrierGeneration_.notify_all();
}

void ShardWorld::spinBarrier() {
  int64_t generation = barrierGeneration_.load(std::memory_order_acquire);
  if (barrierArrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == local_) {
    barrierArrived_.store(0, std::memory_order_relaxed);
    barrierGeneration_.fetch_add(1, std::memory_order_acq_rel);
    barrierGeneration_.notify_all();
  } else {
    // About 50 us of spinning (a step's collectives come microseconds apart when the shards are balanced), then sleep.
    for (int spin = 0; barrierGeneration_.load(std::memory_order_acquire) == generation; ++spin) {
      if (spin < 20000) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
      } else {
        barrierGeneration_.wait(generation, std::memory_order_acquire);
      }
    }
  }
  if (failedFlag_.load()) throw Error("another shard of this batch failed");
}

void ShardWorld::allReduceSpinning(int i, float* data, int64_t n) {
  ShardClock& clock = clocks_[size_t(i)];
  if (clock.exitWall != 0) {
    clock.computeWall += nowNs() - clock.exitWall;
    clock.computeCpu += threadCpuNs() - clock.exitCpu;
  }
  const int64_t round = reduceRounds_[size_t(i)]++, window = round / kWindowCalls;
  const bool windowEnds = round % kWindowCalls == kWindowCalls - 1;
  if (windowEnds) {
    // Window w - 2's votes were read before anyone left this window's first collective: its slot is w + 1's.
    if (i == 0) starvedVotes_[size_t((window + 1) % 3)].store(0);
    // Ran under 80% of the time it was computing: another process has its core.
    if (clock.computeWall >= kWindowMinNs && clock.computeCpu * 5 < clock.computeWall * 4)
      starvedVotes_[size_t(window % 3)].fetch_add(1);
    clock.computeWall = clock.computeCpu = 0;
  }
  parts_[size_t(i)] = data;
  spinBarrier();
  // Shard i folds its slice of every part (the same tree, so the same bits) and hands it to the others.
  const int64_t per = ((n + local_ - 1) / local_ + 15) / 16 * 16;  // whole cache lines
  const int64_t begin = std::min(n, i * per), end = std::min(n, begin + per);
  if (begin < end) {
    std::vector<float*> slices;
    for (float* part : parts_) slices.push_back(part + begin);
    foldPairwise(slices, end - begin);
    for (size_t j = 1; j < parts_.size(); ++j) std::copy(parts_[0] + begin, parts_[0] + end, parts_[j] + begin);
  }
  spinBarrier();
  if (windowEnds) {
    const bool starved = starvedVotes_[size_t(window % 3)].load() > 0;  // the same answer on every shard
    if (starved) solo_[size_t(i)] = 1;
    if (i == 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (starved) {
        turnsFree_ -= running_ - 1;  // the turns the shards hold now, less one: one computes at a time from here
        backoff_ = backoff_ == 0 ? kFirstSoloNs : std::min(2 * backoff_, kMaxSoloNs);
        soloUntil_ = nowNs() + backoff_;
      } else {
        backoff_ = 0;
      }
    }
  }
  clock.exitWall = nowNs();
  clock.exitCpu = threadCpuNs();
}

void ShardWorld::endSoloIfDue() {
  if (!spinning_ || !solo_[0] || nowNs() < soloUntil_) return;
  std::fill(solo_.begin(), solo_.end(), 0);
  for (ShardClock& clock : clocks_) clock = ShardClock{};
  turnsFree_ += running_ - 1;
}

bool ShardWorld::anyOfSpinning(int i, bool mine) {
  int64_t round = anyRounds_[size_t(i)]++;
  // Every shard has read round - 2's answer (all passed round - 1's barrier): its flag is free for round + 1.
  if (i == 0) anyFlags_[size_t((round + 1) % 3)].store(false);
  if (mine) anyFlags_[size_t(round % 3)].store(true);
  spinBarrier();
  return anyFlags_[size_t(round % 3)].load();
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
    endSoloIfDue();  // the others read their mode after this meeting
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
  if (spinning_ && !solo_[size_t(i)]) return allReduceSpinning(i, data, n);
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
  if (spinning_ && !solo_[size_t(i)]) return anyOfSpinning(i, mine);
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
  for (ShardClock& clock : clocks_) clock = ShardClock{};  // new threads: new CPU clocks
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
