// bench/fma_peak.cpp — this machine's FMA peak: independent vector FMA chains
// per thread, widest vectors the build targets (AVX-512 or AVX2).
// Usage: fma_peak THREADS  -> prints GFLOP/s
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#if defined(__AVX512F__)
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
typedef float vec __attribute__((vector_size(kLanes * 4)));

static double run(long iters) {
  // Twelve independent chains held in registers: more than FMA latency x
  // pipes, so the FMA units never wait on a result.
  vec x, y;
  for (int l = 0; l < kLanes; ++l) {
    x[l] = 0.999999f;
    y[l] = 1e-7f;
  }
  // Distinct starting values, so the compiler cannot merge the chains.
  vec a0 = y, a1 = y * 2, a2 = y * 3, a3 = y * 4, a4 = y * 5, a5 = y * 6, a6 = y * 7, a7 = y * 8, a8 = y * 9,
      a9 = y * 10, a10 = y * 11, a11 = y * 12;
  for (long i = 0; i < iters; ++i) {
    a0 = a0 * x + y; a1 = a1 * x + y; a2 = a2 * x + y; a3 = a3 * x + y;
    a4 = a4 * x + y; a5 = a5 * x + y; a6 = a6 * x + y; a7 = a7 * x + y;
    a8 = a8 * x + y; a9 = a9 * x + y; a10 = a10 * x + y; a11 = a11 * x + y;
      }
  vec s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
  return s[0];
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const long iters = 200000000L / kLanes;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  std::vector<double> sinks(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sinks[size_t(t)] = run(iters); });
  for (auto& t : pool) t.join();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double flops = double(threads) * double(iters) * 12 * kLanes * 2;
  std::printf("%.1f\n", flops / s * 1e-9 + (sinks[0] > 1e30 ? 1 : 0));  // uses the sums, so they are computed
}
