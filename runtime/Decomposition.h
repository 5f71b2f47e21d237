// runtime/Decomposition.h — how a training run cuts its batches over its
// workers when it is not told (`graphc train` without --shards).
//
// Rows over workers (a shard of the batch per thread, runtime/ShardWorld.h)
// join the threads once per step; splitting each product's panels joins them
// once per product, about a hundred times in the seed's step. At two threads
// rows trained the seed 1.84x one thread and split products 1.65x, and the
// module models and the small GPT 1.15-1.53x faster than split products (Zen
// 5, docs/distributed.md). But each shard keeps its own parameters, gradients
// and optimizer state, and a shard needs a product tile's rows to keep the
// tiles full. So the run takes one shard per worker (threads x processes)
// when every worker gets a shard of at least a tile's rows and the extra
// copies are small, and one shard per process, its threads splitting each
// product, otherwise.
//
// A run's shard count decides its bits (the gradient's sum order); a checkpoint
// records it, so a resumed run keeps it on any number of threads and ranks, and
// --shards fixes it for runs that must match across decompositions.
#pragma once

#include <cstdint>
#include <string>

namespace graphc {

// Extra state copies worth a shard per thread: the seed's state is 3.5 MB a
// copy; a word LSTM's at H 512 with Adam 215 MiB, which would double its memory.
constexpr uint64_t kMaxExtraShardStateBytes = uint64_t(64) << 20;

struct DecompositionFacts {
  int64_t batchRows = 0;     // rows of a whole batch, over all processes
  int processes = 1;         // MPI ranks (1: one process)
  int threads = 1;           // threads per process
  int64_t tileRows = 1;      // rows of the target's product tile
  uint64_t stateBytes = 0;   // one copy of the parameters, their gradients, packed copies and optimizer state
};

struct Decomposition {
  int64_t shards = 1;  // over all processes: processes (split products) or processes x threads (rows)
  std::string why;     // when split products were chosen with threads to spare: why, a clause for a parenthesis
};

Decomposition chooseDecomposition(const DecompositionFacts& facts);

}  // namespace graphc
