// runtime/Words.cpp — see Words.h.
#include "runtime/Words.h"

#include <algorithm>
#include <fmt/format.h>
#include <unordered_map>
#include <vector>

#include "graph/Error.h"
#include "graph/FileIO.h"
#include "runtime/Corpus.h"
#include "runtime/TokenCounts.h"

namespace graphc {

Vocab wordVocabFrom(std::string_view text, int64_t minCount) {
  TokenCounts counts;
  forEachWord(text, [&](std::string_view w) { counts.add(w); });
  return counts.vocab(TextMode::Words, minCount);
}

// A vocabulary file larger than this is refused before it is read.
constexpr uint64_t kMaxVocabFileBytes = uint64_t(64) << 20;

Vocab readWordVocab(const std::string& path) {
  std::string text = readFileBounded(path, kMaxVocabFileBytes, "the vocabulary file");
  std::vector<std::string> tokens = {"<unk>"};
  std::unordered_map<std::string, int64_t> lineOf;
  int64_t line = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find('\n', i);
    if (end == std::string::npos) end = text.size();
    std::string token = text.substr(i, end - i);
    if (!token.empty() && token.back() == '\r') token.pop_back();
    ++line;
    i = end + 1;
    if (token.empty()) continue;
    if (std::any_of(token.begin(), token.end(), isWordSeparator))
      throw Error(fmt::format("{}:{}: error: the vocabulary token '{}' contains whitespace", path, line,
                              escapeForMessage(token)));
    if (token == "<unk>" && tokens.size() == 1 && lineOf.empty()) {
      lineOf[token] = line;
      continue;
    }
    auto [it, fresh] = lineOf.emplace(token, line);
    if (!fresh || token == "<unk>")
      throw Error(fmt::format("{}:{}: error: the vocabulary lists '{}' twice (first on line {})", path, line,
                              escapeForMessage(token), it->second));
    if (int64_t(tokens.size()) == Vocab::kMaxSize)  // refused as soon as it is known: the rest would only cost memory
      throw Error(fmt::format("{}:{}: error: the vocabulary lists more than {} tokens", path, line, Vocab::kMaxSize));
    tokens.push_back(std::move(token));
  }
  if (tokens.size() < 2) throw Error(fmt::format("{}: error: the vocabulary file lists no tokens", path));
  return Vocab(std::move(tokens), TextMode::Words);
}

}  // namespace graphc
