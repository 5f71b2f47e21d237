// codegen/ThreadPool.cpp — a fixed pool with a generation counter.
#include "codegen/ThreadPool.h"

#include "codegen/Target.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace graphc {
namespace {

// How long a thread spins before it sleeps on a futex. The products of one
// training step are microseconds apart and a wake-up costs more than that, so
// a short spin keeps the hot path hot; but a spin is bounded in time, not in
// iterations (a pause is 10 cycles on one CPU and 140 on another), so that with
// a busy process beside graphc the waiting threads give their core back
// within ~50 us instead of burning the time slice the other side needs.
constexpr auto kSpinBudget = std::chrono::microseconds(50);

// Spins while `busy()` holds, up to the budget; returns whether it still holds.
template <typename Busy>
bool spinWhile(const Busy& busy) {
  auto deadline = std::chrono::steady_clock::now() + kSpinBudget;
  for (int i = 1;; ++i) {
    if (!busy()) return false;
    if ((i & 63) == 0 && std::chrono::steady_clock::now() > deadline) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

using Clock = std::chrono::steady_clock;

// Watches how long the caller waits for the workers after finishing its own
// part. A worker that shares its core with another busy process is preempted
// for whole time slices (milliseconds) while it holds a range, and every
// product then waits for it: two threads run at half the speed of one. (Then
// the waits exceed the caller's own work; on an idle machine they stay under
// half of it.) When the waits exceed 60% of the caller's own work over a window of calls,
// the pool runs everything on the caller alone for a while, then tries the
// workers again, backing off exponentially while the load persists. The
// results do not change: every kernel gives each output element to one
// thread, whatever the split (codegen/Gemm.cpp, RuntimeKernels.cpp).
class LoadMonitor {
 public:
  // Called by the thread that runs the pool, after each parallel call.
  void record(Clock::duration own, Clock::duration wait) {
    own_ += own;
    wait_ += wait;
    // Judge a window only once it holds real work (tiny calls say nothing).
    if (++calls_ < kWindow || own_ + wait_ < kMinWindowTime) return;
    bool starved = wait_ * 5 > own_ * 3;
    calls_ = 0;
    own_ = wait_ = Clock::duration::zero();
    if (!starved) {
      backoff_ = kFirstBackoff;
      return;
    }
    soloUntil_.store((Clock::now() + backoff_).time_since_epoch().count(), std::memory_order_relaxed);
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  }
  // True while the caller should run alone.
  bool solo() const {
    int64_t until = soloUntil_.load(std::memory_order_relaxed);
    return until != 0 && Clock::now().time_since_epoch().count() < until;
  }

 private:
  static constexpr int kWindow = 64;
  static constexpr Clock::duration kMinWindowTime = std::chrono::milliseconds(2);
  static constexpr Clock::duration kFirstBackoff = std::chrono::milliseconds(50);
  static constexpr Clock::duration kMaxBackoff = std::chrono::seconds(2);
  int calls_ = 0;
  Clock::duration own_{}, wait_{}, backoff_ = kFirstBackoff;
  std::atomic<int64_t> soloUntil_{0};
};

class Pool {
 public:
  explicit Pool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { loop(i + 1); });
  }
  ~Pool() {
    stop_ = true;
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& t : threads_) t.join();
  }
  int size() const { return int(threads_.size()) + 1; }

  void run(int parts, const std::function<void(int)>& fn) {
    fn_ = &fn;
    parts_ = parts;
    pending_.store(parts - 1);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    auto start = Clock::now();
    fn(0);
    auto own = Clock::now();
    auto workersBusy = [&] { return pending_.load(std::memory_order_acquire) != 0; };
    if (spinWhile(workersBusy))  // a descheduled worker: stop burning the core it needs
      for (int left; (left = pending_.load(std::memory_order_acquire)) != 0;) pending_.wait(left);
    monitor_.record(own - start, Clock::now() - own);
  }
  bool solo() const { return monitor_.solo(); }

 private:
  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      // Spin a little, then sleep until the generation moves.
      uint64_t g;
      if (spinWhile([&] { return generation_.load(std::memory_order_acquire) == seen; }))
        while ((g = generation_.load(std::memory_order_acquire)) == seen) generation_.wait(seen);
      g = generation_.load(std::memory_order_acquire);
      seen = g;
      if (stop_) return;
      if (index < parts_) {
        (*fn_)(index);
        if (pending_.fetch_sub(1, std::memory_order_release) == 1) pending_.notify_one();
      }
    }
  }

  LoadMonitor monitor_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  const std::function<void(int)>* fn_ = nullptr;
  int parts_ = 0;
  std::atomic<bool> stop_{false};
};

std::mutex poolMutex;  // guards replacing the pool
std::unique_ptr<Pool> pool;
// Read by every product of a step (to choose its split): an atomic, not the mutex.
std::atomic<int> requested{0};


}  // namespace

void setKernelThreads(int threads) {
  std::lock_guard<std::mutex> lock(poolMutex);
  int count = threads <= 0 ? usableCpus() : threads;
  requested = count;
  pool.reset();
  if (count > 1) pool = std::make_unique<Pool>(count - 1);
}

int kernelThreads() {
  int count = requested.load(std::memory_order_relaxed);
  if (count <= 1) return 1;
  return pool && pool->solo() ? 1 : count;
}

int requestedKernelThreads() {
  int count = requested.load(std::memory_order_relaxed);
  return count == 0 ? 1 : count;
}

void parallelFor(int parts, const std::function<void(int)>& fn) {
  if (parts <= 1 || !pool) {
    for (int i = 0; i < parts; ++i) fn(i);
    return;
  }
  pool->run(std::min(parts, pool->size()), fn);
}

}  // namespace graphc

namespace graphc {

void parallelRanges(int64_t count, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  int threads = kernelThreads();
  grain = std::max<int64_t>(1, grain);
  if (threads <= 1 || count <= grain) {
    if (count > 0) fn(0, count);
    return;
  }
  std::atomic<int64_t> next{0};
  parallelFor(threads, [&](int) {
    int64_t begin = next.load(std::memory_order_relaxed);
    for (;;) {
      int64_t size;
      do {
        if (begin >= count) return;
        size = std::max(grain, (count - begin) / (2 * threads));
      } while (!next.compare_exchange_weak(begin, begin + size, std::memory_order_relaxed));
      fn(begin, std::min(count, begin + size));
      begin = next.load(std::memory_order_relaxed);
    }
  });
}

}  // namespace graphc
