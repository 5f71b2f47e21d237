// bench/gemm_bench.cpp — graphc's generated product micro-kernels (driven by
// kernels/product.c) against Eigen's product on the seed step's shapes; prints
// GFLOP/s per shape; then the fused output layer and loss (forward + backward)
// of the word models, as one train op and as the forward + gradient pair. Built by bench/run.sh.
// Usage: gemm_bench THREADS [--layers] [--peak GFLOPS] [--target-cpu NAME] [ROWSxWIDTH ...]   (tiles to
// compare, default: the target's; --layers: the output layers alone, for a profile; --peak: the FMA peak
// the run measured, for a column of each product's and layer's fraction of it, the unit of issue 23's
// goals; --target-cpu: the kernels of another CPU this one runs, as `graphc --target-cpu` makes them:
// znver3 on an AVX-512 host measures the AVX2 code)
#include "codegen/CompiledProducts.h"
#include "graph/PackedLayout.h"
#include "target/Target.h"
#include "kernels/runtime_kernels.h"
#include "kernels/team.h"

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

namespace {

struct Shape {
  const char* what;
  int m, n, k;
  bool ta, tb;
};

// The median of five timing windows of at least 0.1 s each (a window is one call where a call takes
// longer): one window, as this bench took before, moved by a fifth between runs on a shared host.
template <typename Fn>
double secondsPerCall(Fn fn) {
  // Two calls first: a kernel's big scratch (the fused output layer's 30 MiB row block) is mapped
  // afresh by glibc on the first call and on the second taken from a heap grown for it, both
  // paying a page fault per 4 KiB; from the third on it is reused (nplm's layer: 325 ms timed on
  // the second call, 230 from the third).
  fn();
  fn();
  auto window = [&](int reps) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  int reps = 1;
  double s = window(reps);
  while (s < 0.1) {
    reps *= 2;
    s = window(reps);
  }
  std::vector<double> perCall{s / reps};
  while (perCall.size() < 5) perCall.push_back(window(reps) / reps);
  std::sort(perCall.begin(), perCall.end());
  return perCall[2];
}

// Operands 64-byte aligned, as the runtime's arena places them (glibc's large blocks start 16 bytes
// into a page, so a std::vector's rows straddle cache lines).
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) {
    void* p = std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  bool operator==(const CacheLineAllocator&) const { return true; }
};
template <typename T>
using Buffer = std::vector<T, CacheLineAllocator<T>>;

// fn(0) .. fn(parts - 1) over the kernels' team.
template <typename Fn>
void parallelParts(int parts, const Fn& fn) {
  graphc_team_ranges(
      parts, 1,
      [](void* ctx, int, int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) (*static_cast<const Fn*>(ctx))(int(p));
      },
      const_cast<Fn*>(&fn));
}


// The output layer and its softmax cross-entropy as the word models run them,
// forward + backward per call: linear_cross_entropy_train (what a training
// step runs since fuse-linear-cross-entropy makes it; three products) and the
// linear_cross_entropy + _grad pair (four: the gradient makes the logits
// again). "useful" counts the layer's three products (6 n k V FLOPs).
void outputLayers(const graphc::ProductKernels& kernels, std::mt19937& rng, double peak) {
  struct Layer {
    const char* what;
    int n, k, v;
    bool tied;  // w is [V, K] (transpose_b)
  };
  const Layer layers[] = {{"nplm [x,h] W", 1120, 290, 17907, false},
                          {"lstm-lm H 256 tied", 1120, 256, 17907, true},
                          {"lstm-lm H 512", 1120, 512, 17907, false},
                          {"lstm-lm H 512 tied", 1120, 512, 17907, true}};
  std::normal_distribution<float> normal;
  std::printf("\n%-20s %14s %12s %12s %12s %12s %12s%s\n", "output layer", "n x k x V", "train ms", "useful",
              "pair ms", "useful", "executed", peak > 0 ? "  train / peak" : "");
  for (const Layer& l : layers) {
    const size_t grads = size_t(l.n) * l.k + size_t(l.k) * l.v + size_t(l.v);
    Buffer<float> x(size_t(l.n) * l.k), w(size_t(l.k) * l.v), b(size_t(l.v)), loss(size_t(l.n)),
        dloss(size_t(l.n), 1.0f / float(l.n)), out(size_t(l.n) + grads);
    Buffer<int32_t> labels(size_t(l.n));
    for (float& e : x) e = normal(rng);
    for (float& e : w) e = 0.05f * normal(rng);
    for (int i = 0; i < l.n; ++i) labels[size_t(i)] = int32_t((i * 7919) % l.v);
    auto train = [&] {
      graphc_rt_linear_cross_entropy_train(x.data(), w.data(), b.data(), labels.data(), dloss.data(), out.data(), l.n,
                                           l.k, l.v, l.tied, &kernels);
    };
    auto pair = [&] {
      graphc_rt_linear_cross_entropy(x.data(), w.data(), b.data(), labels.data(), loss.data(), l.n, l.k, l.v, l.tied,
                                     &kernels);
      graphc_rt_linear_cross_entropy_grad(x.data(), w.data(), b.data(), labels.data(), loss.data(), dloss.data(),
                                          out.data() + l.n, l.n, l.k, l.v, l.tied, &kernels);
    };
    const double st = secondsPerCall(train), sp = secondsPerCall(pair), product = 2.0 * l.n * l.k * l.v;
    char dims[32];
    std::snprintf(dims, sizeof dims, "%dx%dx%d", l.n, l.k, l.v);
    std::printf("%-20s %14s %12.1f %12.1f %12.1f %12.1f %12.1f", l.what, dims, st * 1e3, 3 * product / st / 1e9,
                sp * 1e3, 3 * product / sp / 1e9, 4 * product / sp / 1e9);
    if (peak > 0) std::printf(" %14.2f", 3 * product / st / 1e9 / peak);
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  graphc_team_set_threads(threads);
  graphc::Target target = graphc::hostTarget();
  std::vector<graphc::Target> tiles;
  bool layersOnly = false;
  double peak = 0;
  for (int i = 2; i < argc; ++i) {
    if (std::string(argv[i]) == "--layers") {
      layersOnly = true;
      continue;
    }
    if (std::string(argv[i]) == "--target-cpu") {
      try {
        target = graphc::targetFor(i + 1 < argc ? argv[i + 1] : "");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "gemm_bench: %s\n", e.what());
        return 2;
      }
      if (!graphc::runsOnHost(target)) {
        std::fprintf(stderr, "gemm_bench: --target-cpu %s: its code cannot run on this CPU\n", argv[i + 1]);
        return 2;
      }
      ++i;
      continue;
    }
    if (std::string(argv[i]) == "--peak") {
      char* end = nullptr;
      peak = i + 1 < argc ? std::strtod(argv[i + 1], &end) : 0;
      if (!(peak > 0) || *end != '\0') {
        std::fprintf(stderr, "gemm_bench: --peak needs a positive GFLOP/s, got '%s'\n", i + 1 < argc ? argv[i + 1] : "");
        return 2;
      }
      ++i;
      continue;
    }
    int rows = 0, width = 0;
    if (std::sscanf(argv[i], "%dx%d", &rows, &width) != 2 || width % target.lanes() != 0) {
      std::fprintf(stderr, "gemm_bench: tile '%s' is not ROWSxWIDTH with WIDTH a multiple of %d\n", argv[i],
                   target.lanes());
      return 2;
    }
    tiles.push_back(graphc::withTile(target, {rows, width / target.lanes()}));
  }
  if (tiles.empty()) tiles.push_back(target);
  if (layersOnly) {
    std::mt19937 rng(1);
    outputLayers(graphc::compiledProductKernels(tiles.front()), rng, peak);
    return 0;
  }
  const Shape shapes[] = {
      {"forward h W_hh", 32, 512, 512, false, false},  {"forward [h,x] W", 32, 512, 540, false, false},
      {"backward dz W_hh^T", 32, 512, 512, false, true}, {"dW_hh = H^T dZ", 512, 512, 1120, true, false},
      {"output H W_hq", 1120, 28, 512, false, false},   {"dH = dO W_hq^T", 1120, 512, 28, false, true},
      {"dW_hq = H^T dO", 512, 28, 1120, true, false},
      // A word model's output layer (Brown corpus: V = 17,907; 1120 rows of 32 x 35): nplm's [x, h] (290
      // wide) and an LSTM's 512, forward, dH and dW; and a 2 x 512 LSTM's gate products over a window.
      {"nplm logits", 1120, 17907, 290, false, false},  {"nplm dX = dL W^T", 1120, 290, 17907, false, true},
      {"nplm dW = X^T dL", 290, 17907, 1120, true, false}, {"lstm512 logits", 1120, 17907, 512, false, false},
      {"lstm512 dH", 1120, 512, 17907, false, true},      {"lstm512 dW", 512, 17907, 1120, true, false},
      {"lstm gates [x,h] W", 1120, 2048, 1024, false, false},
      // the lstm module's dh = dG W^T (H 256): dG's rows 4 KiB apart, copied into tile order first
      {"lstm dh = dG W^T", 32, 256, 1024, false, true},
      // What the fused output layer (--fused-loss, kernels/linear_cross_entropy.c) multiplies per
      // vocabulary chunk of 896 columns: the chunk's logits, dX (+)= G W_c^T and dW_c = X^T G.
      {"lstm512 chunk logits", 1120, 896, 512, false, false}, {"lstm512 chunk dX", 1120, 512, 896, false, true},
      {"lstm512 chunk dW", 512, 896, 1120, true, false},    {"nplm chunk logits", 1120, 896, 290, false, false},
      {"nplm chunk dX", 1120, 290, 896, false, true},       {"nplm chunk dW", 290, 896, 1120, true, false},
      // gpt (nanoGPT's CPU configuration: 12 x 64 rows, width 128): the MLP's fc, its weight
      // gradient and dX, and one (batch, head)'s attention scores q k^T and weights times v.
      {"gpt x W_fc", 768, 512, 128, false, false},      {"gpt dW_fc = X^T dY", 128, 512, 768, true, false},
      {"gpt dX = dY W_fc^T", 768, 128, 512, false, true}, {"gpt q k^T", 64, 64, 32, false, true},
      {"gpt p v", 64, 32, 64, false, false},
  };
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::printf("%-20s %14s %10s", "product", "m x n x k", "eigen");
  for (const auto& t : tiles) {
    char head[48];
    std::snprintf(head, sizeof head, "%dx%d", t.tile.rows, t.panelWidth());
    std::printf(" %10s %10s", head, "prepacked");
  }
  std::printf(" %9s%s\n", "max err", peak > 0 ? "  first / peak" : "");
  for (const Shape& s : shapes) {
    Buffer<float> a(size_t(s.m) * s.k), b(size_t(s.k) * s.n), c1(size_t(s.m) * s.n), c2(c1.size());
    for (float& x : a) x = normal(rng);
    for (float& x : b) x = normal(rng);
    // The baseline is split by columns over the same pool, as graphc's Eigen fallback does.
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const RowMajor> A(a.data(), s.ta ? s.k : s.m, s.ta ? s.m : s.k);
    Eigen::Map<const RowMajor> B(b.data(), s.tb ? s.n : s.k, s.tb ? s.k : s.n);
    Eigen::Map<RowMajor> C(c1.data(), s.m, s.n);
    auto blas = [&] {
      int parts = threads;
      int step = (s.n / parts + 7) / 8 * 8;
      parallelParts(parts, [&](int p) {
        int j0 = std::min(s.n, p * step), j1 = p == parts - 1 ? s.n : std::min(s.n, (p + 1) * step);
        if (j1 <= j0) return;
        auto Cb = C.middleCols(j0, j1 - j0);
        if (!s.ta && !s.tb) Cb.noalias() = A * B.middleCols(j0, j1 - j0);
        else if (s.ta && !s.tb) Cb.noalias() = A.transpose() * B.middleCols(j0, j1 - j0);
        else if (!s.ta && s.tb) Cb.noalias() = A * B.middleRows(j0, j1 - j0).transpose();
        else Cb.noalias() = A.transpose() * B.middleRows(j0, j1 - j0).transpose();
      });
    };
    double flop = 2.0 * s.m * s.n * s.k;
    char dims[32];
    std::snprintf(dims, sizeof dims, "%dx%dx%d", s.m, s.n, s.k);
    std::printf("%-20s %14s %10.1f", s.what, dims, flop / secondsPerCall(blas) / 1e9);
    double err = 0, first = 0;  // first: the first tile's GFLOP/s, packing B per call
    for (const auto& t : tiles) {
      const graphc::ProductKernels& kernels = graphc::compiledProductKernels(t);
      Buffer<float> packed(size_t(graphc::packedElements(s.k, s.n, kernels.panel_width)));
      auto ours = [&] { graphc_rt_matmul(a.data(), b.data(), c2.data(), s.m, s.n, s.k, s.ta, s.tb, &kernels); };
      double to = secondsPerCall(ours);
      if (first == 0) first = flop / to / 1e9;
      for (size_t i = 0; i < c1.size(); ++i) err = std::max(err, double(std::fabs(c1[i] - c2[i])));
      graphc_rt_pack_panels(b.data(), packed.data(), s.k, s.n, s.tb, kernels.panel_width);
      auto prepacked = [&] {
        graphc_rt_packed_matmul(a.data(), packed.data(), c2.data(), s.m, s.n, s.k, s.ta, &kernels);
      };
      double tp = secondsPerCall(prepacked);
      for (size_t i = 0; i < c1.size(); ++i) err = std::max(err, double(std::fabs(c1[i] - c2[i])));
      std::printf(" %10.1f %10.1f", flop / to / 1e9, flop / tp / 1e9);
    }
    std::printf(" %9.1e", err);
    if (peak > 0) std::printf(" %14.2f", first / peak);
    std::printf("\n");
  }
  outputLayers(graphc::compiledProductKernels(tiles.front()), rng, peak);
  std::printf("target: %s\n", target.describe().c_str());
}
