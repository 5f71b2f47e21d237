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
    fn(0);
    auto workersBusy = [&] { return pending_.load(std::memory_order_acquire) != 0; };
    if (spinWhile(workersBusy))  // a descheduled worker: stop burning the core it needs
      for (int left; (left = pending_.load(std::memory_order_acquire)) != 0;) pending_.wait(left);
  }

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
