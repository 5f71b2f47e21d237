// runtime/Words.h — word-level text (`--text words`): whitespace-separated
// tokens, a vocabulary of the words seen often enough, and vocabulary files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace graphc {

class Vocab;

inline bool isWordSeparator(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// Calls f(word) for every maximal run of non-whitespace bytes, in order.
template <class F>
void forEachWord(std::string_view text, F&& f) {
  size_t i = 0, n = text.size();
  while (i < n) {
    while (i < n && isWordSeparator(text[i])) ++i;
    size_t start = i;
    while (i < n && !isWordSeparator(text[i])) ++i;
    if (i > start) f(text.substr(start, i - start));
  }
}

// "<unk>", then every word seen at least `minCount` times, by descending
// count (ties: first occurrence). The text's own "<unk>" tokens are <unk>.
Vocab wordVocabFrom(std::string_view text, int64_t minCount);

// A vocabulary file: one token per line, in id order; "<unk>" is id 0
// (added first when the file does not list it). Throws "PATH:LINE: error: ..."
// for an empty file, a token with whitespace, or a token listed twice.
Vocab readWordVocab(const std::string& path);

}  // namespace graphc
