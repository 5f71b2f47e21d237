// runtime/Decomposition.cpp — see Decomposition.h.
#include "runtime/Decomposition.h"

#include <fmt/format.h>

namespace graphc {

Decomposition chooseDecomposition(const DecompositionFacts& facts) {
  const int64_t processes = facts.processes, workers = processes * facts.threads;
  auto splitProducts = [&](std::string why) { return Decomposition{processes, std::move(why)}; };
  if (facts.threads <= 1) return splitProducts("");
  if (facts.batchRows % workers != 0)
    return splitProducts(fmt::format("the batch's {} rows do not split into {} shards", facts.batchRows, workers));
  if (facts.batchRows / workers < facts.tileRows)
    return splitProducts(fmt::format("a shard of {} rows would be less than a product tile's {}; --shards {} "
                                     "forces them",
                                     facts.batchRows / workers, facts.tileRows, workers));
  // Each process's shards must be a subtree of the fixed sum (ShardWorld.h).
  if (processes > 1 && (facts.threads & (facts.threads - 1)) != 0)
    return splitProducts(fmt::format("{} threads per process are not a power of two", facts.threads));
  const uint64_t extra = uint64_t(facts.threads - 1) * facts.stateBytes;
  if (extra > kMaxExtraShardStateBytes)
    return splitProducts(fmt::format("a shard per thread would keep {:.0f} MiB more of parameters and optimizer "
                                     "state; --shards {} forces them",
                                     double(extra) / double(1 << 20), workers));
  return Decomposition{workers, ""};
}

}  // namespace graphc
