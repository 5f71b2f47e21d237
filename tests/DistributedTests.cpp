// tests/DistributedTests.cpp — data parallelism without MPI: two threads
// stand for two processes, with collectives that combine their buffers. One
// data-parallel step on half batches gives the whole batch's step; two
// Trainers train as one and their snapshots resume on one process or two;
// drifted replicas are stopped. (tests/distributed/run.sh runs real mpirun.)
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "TestUtil.h"
#include "codegen/Collectives.h"
#include "models/Model.h"
#include "runtime/Engine.h"
#include "runtime/Initializers.h"
#include "driver/Pipeline.h"
#include "runtime/Communicator.h"
#include "runtime/Corpus.h"
#include "runtime/Decomposition.h"
#include "runtime/Random.h"
#include "runtime/ShardWorld.h"
#include "runtime/Trainer.h"

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
  two.ranks = 2;
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

namespace {

// Two threads as the two ranks of a world: each collective is a rendezvous
// where the second thread to arrive combines both ranks' buffers.
class ThreadWorld {
 public:
  struct Post {
    const float* in = nullptr;
    float* out = nullptr;
    int64_t n = 0;
    bool flag = false;
  };
  void meet(int rank, Post post, const std::function<void(std::array<Post, 2>&)>& combine) {
    std::unique_lock<std::mutex> lock(mutex_);
    int generation = generation_;
    posts_[size_t(rank)] = post;
    if (++arrived_ == 2) {
      combine(posts_);
      arrived_ = 0;
      ++generation_;
      done_.notify_all();
    } else {
      done_.wait(lock, [&] { return generation_ != generation; });
    }
  }
  std::array<bool, 2> flags;  // anyOf's answers, per rank

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::array<Post, 2> posts_;
  int arrived_ = 0, generation_ = 0;
};

class ThreadRank final : public Communicator {
 public:
  ThreadRank(ThreadWorld& world, int rank) : world_(world), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return 2; }
  void allReduceSum(float* data, int64_t n) override {
    world_.meet(rank_, {data, data, n, false}, [](std::array<ThreadWorld::Post, 2>& p) {
      for (int64_t i = 0; i < p[0].n; ++i) p[0].out[i] = p[1].out[i] = p[0].in[i] + p[1].in[i];
    });
  }
  bool anyOf(bool mine) override {
    world_.meet(rank_, {nullptr, nullptr, 0, mine}, [this](std::array<ThreadWorld::Post, 2>& p) {
      world_.flags[0] = world_.flags[1] = p[0].flag || p[1].flag;
    });
    return world_.flags[size_t(rank_)];
  }
  void allGather(const float* data, int64_t n, float* out) override {
    world_.meet(rank_, {data, out, n, false}, [](std::array<ThreadWorld::Post, 2>& p) {
      for (auto& dest : p) {
        std::copy(p[0].in, p[0].in + p[0].n, dest.out);
        std::copy(p[1].in, p[1].in + p[1].n, dest.out + p[0].n);
      }
    });
  }

 private:
  ThreadWorld& world_;
  int rank_;
};

// The all_reduce op reaches the process's one installed communicator; with
// threads for ranks, it passes the call on to the calling thread's rank.
thread_local Communicator* currentRank = nullptr;
class PerThread final : public Communicator {
 public:
  int rank() const override { return currentRank->rank(); }
  int size() const override { return currentRank->size(); }
  void allReduceSum(float* data, int64_t n) override { currentRank->allReduceSum(data, n); }
  bool anyOf(bool mine) override { return currentRank->anyOf(mine); }
  void allGather(const float* data, int64_t n, float* out) override { currentRank->allGather(data, n, out); }
};

double worstRelative(const Tensor& a, const Tensor& b) {
  REQUIRE(a.type() == b.type());
  double scale = 1e-30, worst = 0;
  for (int64_t i = 0; i < a.size(); ++i) scale = std::max(scale, std::abs(double(b.f32()[i])));
  for (int64_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a.f32()[i]) - double(b.f32()[i])));
  return worst / scale;
}

// Runs `body(rank, trainer)` for two trainers, one per thread, as the two ranks of a world.
void onTwoRanks(const ModelDef& model, TrainOptions options, const Corpus& corpus,
                const std::function<void(int, Trainer&)>& body) {
  ThreadWorld world;
  ThreadRank ranks[2] = {{world, 0}, {world, 1}};
  PerThread dispatch;
  installCommunicator(&dispatch);
  std::vector<std::thread> threads;
  std::exception_ptr failure;
  std::mutex failureMutex;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r, options]() mutable {
      currentRank = &ranks[r];
      options.world = &ranks[r];
      try {
        Trainer trainer(model, options, corpus);
        body(r, trainer);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failureMutex);
        failure = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  installCommunicator(nullptr);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

TEST_CASE("data parallelism: two trainers on their rows of each batch train as one, and their snapshots resume anywhere") {
  const ModelDef& model = findModel("rnn-scratch");
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 1500);
  for (IterKind iter : {IterKind::Sequential, IterKind::Random}) {
    std::string iteration = iter == IterKind::Sequential ? "sequential" : "random";
    CAPTURE(iteration);
    TrainOptions options;
    options.model = {8, 6, 16, corpus.vocab.size(), 1};
    options.iter = iter;
    options.seed = 5;
    options.engine = "interp";

    Trainer single(model, options, corpus);
    std::vector<double> want;
    for (int e = 0; e < 3; ++e) want.push_back(single.trainEpoch().perplexity);
    Trainer::Snapshot singleSnapshot = single.snapshot();

    std::vector<double> got[2];
    Trainer::Snapshot twoSnapshot;
    TensorMap twoParams[2];
    onTwoRanks(model, options, corpus, [&](int r, Trainer& t) {
      for (int e = 0; e < 3; ++e) got[r].push_back(t.trainEpoch().perplexity);
      Trainer::Snapshot s = t.snapshot();  // a collective: both ranks take it
      if (r == 0) twoSnapshot = s;
      twoParams[r] = t.params();
    });
    for (int r = 0; r < 2; ++r)
      for (size_t e = 0; e < want.size(); ++e) CHECK(got[r][e] == doctest::Approx(want[e]).epsilon(1e-5));
    for (const auto& [name, p] : single.params()) {
      CAPTURE(name);
      CHECK(worstRelative(twoParams[0].at(name), p) < 1e-5);
      CHECK(std::equal(twoParams[0].at(name).f32(), twoParams[0].at(name).f32() + p.size(), twoParams[1].at(name).f32()));
    }
    // The snapshot holds every row's carried state, as one process's does.
    REQUIRE(twoSnapshot.tensors.at("H").shape() == Shape{8, 16});
    CHECK(worstRelative(twoSnapshot.tensors.at("H"), singleSnapshot.tensors.at("H")) < 1e-4);
    // The same counters and RNG; the loss sum only within rounding.
    for (const auto& [key, value] : singleSnapshot.numbers)
      if (key != "loss_sum_bits") CHECK(twoSnapshot.numbers.at(key) == value);

    // Two ranks' snapshot on one process, one process's on two ranks: the next epoch as one process trains it.
    double next = single.trainEpoch().perplexity;
    Trainer resumedOnOne(model, options, corpus);
    resumedOnOne.restore(twoSnapshot);
    CHECK(resumedOnOne.trainEpoch().perplexity == doctest::Approx(next).epsilon(1e-5));
    onTwoRanks(model, options, corpus, [&](int, Trainer& t) {
      t.restore(singleSnapshot);
      double p = t.trainEpoch().perplexity;
      static std::mutex m;
      std::lock_guard<std::mutex> lock(m);
      CHECK(p == doctest::Approx(next).epsilon(1e-5));
    });
  }
}

TEST_CASE("data parallelism: a batch that does not split over the ranks is refused") {
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 1500);
  TrainOptions options;
  options.model = {7, 6, 16, corpus.vocab.size(), 1};
  options.engine = "interp";
  CHECK_THROWS_WITH_AS(onTwoRanks(findModel("rnn-scratch"), options, corpus, [](int, Trainer&) {}),
                       doctest::Contains("--batch-size 7 does not split into 2 shards of equal rows"), Error);
}

TEST_CASE("data parallelism: ranks whose parameters drift apart are stopped after the epoch") {
  const ModelDef& model = findModel("rnn-scratch");
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 1500);
  TrainOptions options;
  options.model = {8, 6, 16, corpus.vocab.size(), 1};
  options.engine = "interp";
  Trainer single(model, options, corpus);
  Trainer::Snapshot start = single.snapshot();
  // Rank 1 starts elsewhere (as code compiled for another CPU would, after
  // rounding differently for a while; a one-bit difference can round away).
  CHECK_THROWS_WITH_AS(onTwoRanks(model, options, corpus,
                                  [&](int r, Trainer& t) {
                                    Trainer::Snapshot s = start;
                                    if (r == 1) {
                                      float& w = s.tensors.at("W_hh").f32()[0];
                                      w += 1e-3f;
                                    }
                                    t.restore(s);
                                    t.trainEpoch();
                                  }),
                       doctest::Contains("the ranks' parameters differ after epoch 1 (rank 0 and rank 1)"), Error);
}

namespace {

const void* bitsOf(const Tensor& t) {
  return t.dtype() == DType::F32 ? static_cast<const void*>(t.f32()) : static_cast<const void*>(t.i32());
}

// Every tensor and number of two snapshots, bit for bit.
void requireSameBits(const Trainer::Snapshot& a, const Trainer::Snapshot& b) {
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    CAPTURE(name);
    const Tensor& u = b.tensors.at(name);
    REQUIRE(t.type() == u.type());
    CHECK(std::memcmp(bitsOf(t), bitsOf(u), size_t(t.size()) * 4) == 0);
  }
  CHECK(a.numbers == b.numbers);
}

}  // namespace

TEST_CASE("rows over workers: the shards' sum follows a fixed tree") {
  std::vector<std::vector<float>> parts = {{1e8f}, {1.0f}, {-1e8f}, {1.0f}, {0.5f}};
  std::vector<float*> p;
  for (auto& part : parts) p.push_back(part.data());
  ShardWorld::foldPairwise(p, 1);
  // ((1e8 + 1) + (-1e8 + 1)) + 0.5: each pair rounds to +-1e8 first.
  CHECK(parts[0][0] == 0.5f);
}

TEST_CASE("rows over workers: 1 thread, 2 threads, 2 ranks x 1 and 2 ranks x 2 write the same bits on 4 shards") {
  const ModelDef& model = findModel("lstm-lm");
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 1500);
  TrainOptions options;
  options.model = {8, 6, 16, corpus.vocab.size(), 2};
  options.model.settings["dropout"] = 0.25;  // masks keyed by the row, not by the worker
  options.seed = 3;
  options.shards = 4;
  options.engineOptions.useCache = false;
  auto train = [&](TrainOptions o, int epochs) {
    Trainer t(model, o, corpus);
    REQUIRE(t.shards() == 4);
    for (int e = 0; e < epochs; ++e) t.trainEpoch();
    return t.snapshot();
  };
  options.threads = 1;
  Trainer::Snapshot oneThread = train(options, 2);
  options.threads = 2;
  requireSameBits(train(options, 2), oneThread);
  options.threads = 4;  // a thread per shard: the collectives spin and fold in slices
  requireSameBits(train(options, 2), oneThread);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    options.threads = threads;
    Trainer::Snapshot twoRanks;
    onTwoRanks(model, options, corpus, [&](int r, Trainer& t) {
      CHECK(t.localShards() == 2);
      for (int e = 0; e < 2; ++e) t.trainEpoch();
      Trainer::Snapshot s = t.snapshot();
      if (r == 0) twoRanks = s;
    });
    requireSameBits(twoRanks, oneThread);
  }

  // One epoch on two ranks, resumed for the second on one process with 2 threads: the same run.
  options.threads = 1;
  Trainer::Snapshot firstEpoch;
  onTwoRanks(model, options, corpus, [&](int r, Trainer& t) {
    t.trainEpoch();
    Trainer::Snapshot s = t.snapshot();
    if (r == 0) firstEpoch = s;
  });
  options.threads = 2;
  Trainer resumed(model, options, corpus);
  resumed.restore(firstEpoch);
  resumed.trainEpoch();
  requireSameBits(resumed.snapshot(), oneThread);

  // Without shards the decompositions differ (the sums go in another order): the test can tell.
  options.shards = 0;
  Trainer whole(model, options, corpus);
  for (int e = 0; e < 2; ++e) whole.trainEpoch();
  TensorMap params = whole.params();
  const auto& [name, p] = *params.begin();
  CAPTURE(name);
  CHECK(std::memcmp(bitsOf(p), bitsOf(oneThread.tensors.at(name)), size_t(p.size()) * 4) != 0);
}

TEST_CASE("rows over workers: a shard that fails fails the step on every shard, and nothing hangs") {
  for (int running : {2, 3}) {  // 3: every shard at once, the collectives spin
    CAPTURE(running);
    ShardWorld world(3, nullptr, running);
    std::atomic<int> failedCollectives{0};
    CHECK_THROWS_WITH_AS(world.runAll([&](int i) {
      if (i == 1) {  // once the others wait in their collective (beyond the barrier's spinning)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        throw Error("shard 1 ran out of memory");
      }
      std::vector<float> x(4, 1.0f);
      try {
        world.shard(i).allReduceSum(x.data(), 4);
      } catch (const Error&) {
        ++failedCollectives;
        throw;
      }
    }),
                         "shard 1 ran out of memory", Error);
    CHECK(failedCollectives == 2);
    CHECK_THROWS_WITH_AS(world.runAll([](int) {}), doctest::Contains("failed earlier"), Error);
  }
}

TEST_CASE("rows over workers: shards that do not split over the processes, or the batch, are refused") {
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 1500);
  TrainOptions options;
  options.model = {8, 6, 16, corpus.vocab.size(), 1};
  options.engine = "interp";
  options.shards = 3;
  CHECK_THROWS_WITH_AS(Trainer(findModel("rnn-scratch"), options, corpus),
                       doctest::Contains("--batch-size 8 does not split into 3 shards"), Error);
  CHECK_THROWS_WITH_AS(onTwoRanks(findModel("rnn-scratch"), options, corpus, [](int, Trainer&) {}),
                       doctest::Contains("--shards 3 do not split over 2 processes"), Error);
  options.shards = 6;
  options.model.batchSize = 12;
  CHECK_THROWS_WITH_AS(onTwoRanks(findModel("rnn-scratch"), options, corpus, [](int, Trainer&) {}),
                       doctest::Contains("3 shards per process"), Error);
}

TEST_CASE("rows over workers by default: a shard per worker when each gets a tile of rows and the copies are small") {
  // The seed on 2 threads: rows; on 1 thread, or 2 ranks of 1 thread, a shard per process.
  DecompositionFacts seed{32, 1, 2, 12, 3'500'000};
  CHECK(chooseDecomposition(seed).shards == 2);
  CHECK(chooseDecomposition(seed).why.empty());
  CHECK(chooseDecomposition({32, 1, 1, 12, 3'500'000}).shards == 1);
  CHECK(chooseDecomposition({32, 2, 1, 12, 3'500'000}).shards == 2);
  CHECK(chooseDecomposition({64, 2, 2, 12, 3'500'000}).shards == 4);  // 2 ranks x 2 threads, 16 rows each
  // Split products, saying why.
  Decomposition d = chooseDecomposition({32, 1, 4, 12, 3'500'000});
  CHECK(d.shards == 1);
  CHECK(d.why == "a shard of 8 rows would be less than a product tile's 12; --shards 4 forces them");
  d = chooseDecomposition({33, 1, 2, 12, 3'500'000});
  CHECK(d.shards == 1);
  CHECK(d.why == "the batch's 33 rows do not split into 2 shards");
  d = chooseDecomposition({72, 2, 3, 12, 3'500'000});
  CHECK(d.shards == 2);
  CHECK(d.why == "3 threads per process are not a power of two");
  d = chooseDecomposition({32, 1, 2, 12, uint64_t(215) << 20});  // a word LSTM at H 512 with Adam
  CHECK(d.shards == 1);
  CHECK(d.why == "a shard per thread would keep 215 MiB more of parameters and optimizer state; --shards 2 forces them");
  // The limit itself still takes rows; a byte over it does not.
  CHECK(chooseDecomposition({32, 1, 2, 12, kMaxExtraShardStateBytes}).shards == 2);
  CHECK(chooseDecomposition({32, 1, 2, 12, kMaxExtraShardStateBytes + 1}).shards == 1);
}
