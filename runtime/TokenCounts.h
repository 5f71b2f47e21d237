// runtime/TokenCounts.h — how often each token of a text occurs and where it
// first does, gathered piece by piece, for a frequency-ordered vocabulary.
//
// Tokens of one byte are counted in an array; longer ones (UTF-8 characters,
// words) in one compact table: their bytes in one buffer and 12 bytes of
// count and place each, about 20 bytes per distinct token beside its text, so
// a 1 GiB file of distinct words costs a few hundred MB, not gigabytes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace graphc {

class Vocab;
enum class TextMode;

class TokenCounts {
 public:
  // More distinct tokens than this are refused (the vocabulary file's bound too).
  static constexpr int64_t kMaxDistinct = int64_t(1) << 24;
  // `what` names the text in the error for too many ("PATH: error: the data file").
  explicit TokenCounts(std::string what = "the text") : what_(std::move(what)) {}

  void add(std::string_view token);
  void addBytes(std::string_view text);  // every byte a token (--text d2l)
  void addChars(std::string_view text);  // every UTF-8 character a token; a byte that starts none is one

  // "<unk>", then the tokens seen at least minCount times (except a "<unk>" of
  // the text's own), by descending count, ties by first occurrence.
  Vocab vocab(TextMode mode, int64_t minCount) const;

 private:
  struct Entry {
    uint32_t offset, count, first;  // the token's bytes start at text_[offset]; it ends where the next entry's start
  };
  std::string_view entryText(size_t i) const;
  void grow();

  std::string what_;
  int64_t position_ = 0;
  std::array<int64_t, 256> byteCount_{}, byteFirst_{};
  std::string text_;             // the long tokens' bytes, back to back, in the order they were first seen
  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;  // open addressing: 0 empty, else entry index + 1
};

}  // namespace graphc
