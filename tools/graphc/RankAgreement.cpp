// tools/graphc/RankAgreement.cpp — see RankAgreement.h.
#include "tools/graphc/RankAgreement.h"

#include <cstdint>
#include <fmt/format.h>

#include "graph/Error.h"
#include "graph/Version.h"

namespace graphc::cli {
namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// A 64-bit hash as four 16-bit pieces: floats carry them exactly.
constexpr int kPieces = 4;

std::string tokensDigest(const std::vector<int32_t>& tokens) {
  return fmt::format("{} tokens, {:016x}", tokens.size(),
                     fnv1a(std::string(reinterpret_cast<const char*>(tokens.data()), tokens.size() * sizeof(int32_t))));
}

}  // namespace

RunFingerprint trainFingerprint(const TrainFlags& f, const Corpus& corpus, const std::vector<int32_t>& valTokens,
                                const std::vector<int32_t>& testTokens, const Checkpoint* resumed) {
  RunFingerprint fp = {{"the graphc build", GRAPHC_VERSION " " __DATE__ " " __TIME__}};
  for (const auto& [key, value] : runSettings(f)) fp.emplace_back(settingFlag(key), value);
  fp.emplace_back("--epochs", std::to_string(f.epochs));
  fp.emplace_back("--engine", f.engine);
  fp.emplace_back("--target-cpu", f.targetCpu);
  fp.emplace_back("--rank-timeout", fmt::format("{}", f.rankTimeout));
  fp.emplace_back("--save", f.save);
  fp.emplace_back("--val-estimate", std::to_string(f.valEstimate));
  std::string vocab;
  for (const std::string& t : corpus.vocab.tokens()) vocab += t + '\0';
  fp.emplace_back("the vocabulary", fmt::format("{} tokens, {:016x}", corpus.vocab.size(), fnv1a(vocab)));
  fp.emplace_back("the training text (--data)", tokensDigest(corpus.tokens));
  fp.emplace_back("the validation text", tokensDigest(valTokens));
  fp.emplace_back("the test text (--test-data)", tokensDigest(testTokens));
  std::string progress = resumed ? "at" : "none";
  if (resumed)
    for (const char* key : {"state.epochs_done", "state.steps", "state.next_batch", "state.rng_counter"})
      if (auto it = resumed->metadata.find(key); it != resumed->metadata.end()) progress += " " + it->second;
  fp.emplace_back("--resume (the checkpoint's progress)", progress);
  return fp;
}

void checkRanksAgree(Communicator& world, const RunFingerprint& mine) {
  const int ranks = world.size(), me = world.rank();
  if (ranks < 2) return;
  // First the count: a rank of another build may check other settings, and
  // gathering hashes of different lengths would itself overrun.
  std::vector<float> counts(static_cast<size_t>(ranks));
  float count = float(mine.size());
  world.allGather(&count, 1, counts.data());
  for (int r = 1; r < ranks; ++r)
    if (counts[size_t(r)] != counts[0])
      throw Error(me != 0 ? std::string() : fmt::format("the ranks run different graphc builds: rank 0 checks {} run settings, rank {} {}",
                              counts[0], r, counts[size_t(r)]));
  std::vector<float> hashes(mine.size() * kPieces), all(hashes.size() * size_t(ranks));
  for (size_t k = 0; k < mine.size(); ++k) {
    uint64_t h = fnv1a(mine[k].first + '\0' + mine[k].second);
    for (int p = 0; p < kPieces; ++p) hashes[k * kPieces + size_t(p)] = float((h >> (16 * p)) & 0xffff);
  }
  world.allGather(hashes.data(), int64_t(hashes.size()), all.data());
  for (size_t k = 0; k < mine.size(); ++k) {
    std::vector<int> differ;
    for (int r = 1; r < ranks; ++r)
      for (int p = 0; p < kPieces; ++p)
        if (all[size_t(r) * hashes.size() + k * kPieces + size_t(p)] != all[k * kPieces + size_t(p)]) {
          differ.push_back(r);
          break;
        }
    if (differ.empty()) continue;
    if (me != 0) throw Error("");  // rank 0 reports it, once
    throw Error(fmt::format("the ranks disagree on {}: rank{} {} differ{} from rank 0's '{}'; start every rank with "
                            "the same settings and data",
                            mine[k].first, differ.size() > 1 ? "s" : "", fmt::join(differ, ", "),
                            differ.size() > 1 ? "" : "s", escapeForMessage(mine[k].second)));
  }
}

}  // namespace graphc::cli
