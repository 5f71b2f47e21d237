// tests/DistributedTests.cpp — data parallelism's arithmetic without MPI: two
// threads stand for two processes, each running the ranks=2 training step on
// its half of the batch, with an all_reduce that sums their buffers. One step
// must give both the parameters the single-process step gives on the whole batch.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "TestUtil.h"
#include "codegen/Collectives.h"
#include "models/Model.h"
#include "runtime/Engine.h"
#include "runtime/Initializers.h"
#include "runtime/Pipeline.h"
#include "runtime/Random.h"

using namespace graphc;

namespace {

// A rendezvous of two threads: the second to arrive sums both buffers into both.
struct TwoRanks {
  std::mutex mutex;
  std::condition_variable done;
  std::vector<float*> buffers;
  int generation = 0;
};
TwoRanks ranks;

void sumOverTwoThreads(float* data, int64_t n) {
  std::unique_lock<std::mutex> lock(ranks.mutex);
  int generation = ranks.generation;
  ranks.buffers.push_back(data);
  if (ranks.buffers.size() == 2) {
    for (int64_t i = 0; i < n; ++i) ranks.buffers[0][i] = ranks.buffers[1][i] = ranks.buffers[0][i] + ranks.buffers[1][i];
    ranks.buffers.clear();
    ++ranks.generation;
    ranks.done.notify_all();
  } else {
    ranks.done.wait(lock, [&] { return ranks.generation != generation; });
  }
}

Tensor rows(const Tensor& t, int64_t r0, int64_t r1) {
  int64_t cols = t.type().shape[1];
  std::vector<int32_t> v(t.i32() + r0 * cols, t.i32() + r1 * cols);
  return Tensor::i32({r1 - r0, cols}, v);
}

}  // namespace

TEST_CASE("data parallelism: two ranks on half batches take the whole batch's step") {
  const ModelDef& model = findModel("rnn-scratch");
  ModelConfig whole{4, 3, 8, 28, 1};
  ModelConfig half = whole;
  half.batchSize = 2;
  PipelineConfig one, two;
  two.optimizer.ranks = 2;
  Graph stepOne = optimizeGraph(buildModelGraph(model, whole), one);
  Graph stepTwo = optimizeGraph(buildModelGraph(model, half), two);
  Rng rng(3);
  TensorMap params = initializeParams(stepOne, rng);
  std::vector<int32_t> x(12), y(12);
  for (int i = 0; i < 12; ++i) x[size_t(i)] = (i * 7) % 28, y[size_t(i)] = (i * 5 + 3) % 28;
  Tensor X = Tensor::i32({4, 3}, x), Y = Tensor::i32({4, 3}, y);

  TensorMap single = zeroState(stepOne);
  for (const auto& [name, t] : params) single[name] = t;
  single["X"] = X;
  single["Y"] = Y;
  double loss = createEngine("interp", stepOne)->run(single).at("loss").item();

  setAllReduceSum(sumOverTwoThreads);
  std::vector<TensorMap> vars(2);
  std::vector<double> losses(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    vars[size_t(r)] = zeroState(stepTwo);
    for (const auto& [name, t] : params) vars[size_t(r)][name] = t;
    vars[size_t(r)]["X"] = rows(X, 2 * r, 2 * r + 2);
    vars[size_t(r)]["Y"] = rows(Y, 2 * r, 2 * r + 2);
  }
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] { losses[size_t(r)] = createEngine("interp", stepTwo)->run(vars[size_t(r)]).at("loss").item(); });
  for (auto& t : threads) t.join();
  setAllReduceSum(nullptr);

  CHECK(losses[0] == losses[1]);
  CHECK(losses[0] == doctest::Approx(loss).epsilon(1e-6));
  for (const auto& [name, t] : params) {
    CAPTURE(name);
    const Tensor& a = single.at(name);
    for (int r = 0; r < 2; ++r) {
      const Tensor& b = vars[size_t(r)].at(name);
      REQUIRE(b.size() == a.size());
      double worst = 0;
      for (int64_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::abs(double(a.f32()[i]) - double(b.f32()[i])) / (std::abs(double(a.f32()[i])) + 1e-3));
      CHECK(worst < 1e-5);
    }
    // Both ranks hold the same parameters, bit for bit.
    CHECK(std::equal(vars[0].at(name).f32(), vars[0].at(name).f32() + t.size(), vars[1].at(name).f32()));
  }
}
