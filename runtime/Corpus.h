// runtime/Corpus.h — The Time Machine as d2l reads it: characters as tokens,
// a frequency-ordered vocabulary, and the two minibatch iterators.
#pragma once

#include <string>
#include <vector>

#include "runtime/Random.h"
#include "runtime/Tensor.h"

namespace graphc {

class Vocab {
 public:
  Vocab() = default;
  explicit Vocab(std::vector<std::string> tokens);
  // "<unk>" then characters by descending count (ties: first occurrence).
  static Vocab fromText(const std::string& text);

  int64_t size() const { return int64_t(tokens_.size()); }
  const std::string& token(int64_t i) const { return tokens_.at(size_t(i)); }
  const std::vector<std::string>& tokens() const { return tokens_; }
  int32_t index(char c) const { return index_[static_cast<unsigned char>(c)]; }  // 0 (<unk>) if unknown
  std::vector<int32_t> encode(const std::string& s) const;
  std::string decode(const std::vector<int32_t>& ids) const;

 private:
  std::vector<std::string> tokens_;
  int32_t index_[256] = {};
};

struct Corpus {
  Vocab vocab;
  std::vector<int32_t> tokens;
};

// d2l's preprocessing of each line: runs of non-letters become one space,
// strip, lowercase; lines joined without separator.
std::string preprocessTimeMachine(const std::string& raw);

// Reads and preprocesses the book; keeps the first maxTokens tokens (all if
// <= 0), with the vocabulary built from the whole book. Throws one-line
// errors for a missing, empty, binary or letter-free file.
Corpus loadCorpus(const std::string& path, int64_t maxTokens);

struct Minibatch {
  Tensor X, Y;  // i32 [batch, steps]; Y is X shifted by one token
};

enum class IterKind { Random, Sequential };

// One epoch of minibatches, exactly as d2l's seq_data_iter_random /
// seq_data_iter_sequential, with the start offset drawn from rng.
std::vector<Minibatch> epochBatches(const std::vector<int32_t>& corpus, int64_t batchSize, int64_t numSteps,
                                    IterKind kind, Rng& rng);

// The fewest tokens that give at least one minibatch for every offset.
int64_t minTokensForOneBatch(int64_t batchSize, int64_t numSteps, IterKind kind);

}  // namespace graphc
