// mpi/MpiWorld.cpp — the MPI world as a Communicator, in a module of its own
// (libgraphc_mpi.so, built when CMake finds MPI): libgraphc loads it only for
// a distributed run (runtime/MpiModule.cpp), so neither it nor the plugins
// that link it pull in MPI's libraries.
#include <fmt/format.h>

#include "graph/Error.h"
#include "runtime/Communicator.h"
#include "runtime/MpiModule.h"

// MPI's C API only: from C++, mpi.h would also pull in the deprecated C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace graphc {
namespace {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(fmt::format("graphc: error: {} failed: {}", call, std::string(text, size_t(length))));
}

// Blocking collectives are the fastest MPI has, but one whose partner died or
// hangs never returns. A watchdog thread notices a collective that has waited
// longer than the timeout, says so, and ends this process; the launcher then
// ends the others (and names a rank that died).
class Watchdog {
 public:
  Watchdog(int rank, double timeoutSeconds) : rank_(rank), timeout_(timeoutSeconds) {
    thread_ = std::thread([this] { watch(); });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void enter(const char* what) {
    std::lock_guard<std::mutex> lock(mutex_);
    what_ = what;
    since_ = std::chrono::steady_clock::now();
  }
  void leave() {
    std::lock_guard<std::mutex> lock(mutex_);
    what_ = nullptr;
  }

 private:
  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!quit_) {
      wake_.wait_for(lock, std::chrono::milliseconds(250));
      if (!what_) continue;
      double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - since_).count();
      if (waited < timeout_) continue;
      std::fprintf(stderr,
                   "graphc: rank %d: the other ranks have not answered for %.0f s (in %s); one of them died or hangs; "
                   "exiting (see --rank-timeout)\n",
                   rank_, waited, what_);
      std::fflush(stderr);
      _exit(1);  // not MPI_Abort: this is not the thread MPI was initialized for
    }
  }

  int rank_;
  double timeout_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
  const char* what_ = nullptr;
  std::chrono::steady_clock::time_point since_;
  bool quit_ = false;
};

class MpiWorld final : public Communicator {
 public:
  explicit MpiWorld(double timeoutSeconds) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    }
    // Errors come back as codes (and become one-line errors) instead of aborting inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    watchdog_ = std::make_unique<Watchdog>(rank_, timeoutSeconds);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allReduceSum(float* data, int64_t n) override {
    Guard guard(*watchdog_, "the gradient all_reduce");
    auto start = std::chrono::steady_clock::now();
    for (int64_t done = 0; done < n;) {  // MPI counts are ints
      int count = int(std::min<int64_t>(n - done, int64_t(1) << 30));
      check(MPI_Allreduce(MPI_IN_PLACE, data + done, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
      done += count;
    }
    stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats_.calls += 1;
    stats_.floats += n;
  }
  AllReduceStats allReduceStats() const override { return stats_; }
  bool anyOf(bool mine) override {
    Guard guard(*watchdog_, "the agreement to stop");
    int in = mine ? 1 : 0, out = 0;
    check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD), "MPI_Allreduce");
    return out != 0;
  }
  void allGather(const float* data, int64_t n, float* out) override {
    Guard guard(*watchdog_, "an all_gather");
    if (n > (int64_t(1) << 30)) throw Error("graphc: error: a rank's carried state is too large to gather");
    check(MPI_Allgather(data, int(n), MPI_FLOAT, out, int(n), MPI_FLOAT, MPI_COMM_WORLD), "MPI_Allgather");
  }

 private:
  struct Guard {
    Guard(Watchdog& w, const char* what) : watchdog(w) { watchdog.enter(what); }
    ~Guard() { watchdog.leave(); }
    Watchdog& watchdog;
  };
  int rank_ = 0, size_ = 1;
  std::unique_ptr<Watchdog> watchdog_;
  AllReduceStats stats_;
};

}  // namespace

}  // namespace graphc

extern "C" graphc::Communicator* graphc_mpi_join(double timeoutSeconds) { return new graphc::MpiWorld(timeoutSeconds); }

extern "C" void graphc_mpi_finish() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Finalize();
}
