// runtime/Words.cpp — see Words.h.
#include "runtime/Words.h"

#include <algorithm>
#include <fmt/format.h>
#include <unordered_map>
#include <vector>

#include "graph/Error.h"
#include "graph/FileIO.h"
#include "runtime/Corpus.h"

namespace graphc {

Vocab wordVocabFrom(std::string_view text, int64_t minCount) {
  struct Seen {
    int64_t count = 0, first = 0;
  };
  std::unordered_map<std::string_view, Seen> seen;
  int64_t position = 0;
  forEachWord(text, [&](std::string_view w) {
    auto [it, fresh] = seen.try_emplace(w);
    if (fresh) it->second.first = position;
    ++it->second.count;
    ++position;
  });
  std::vector<std::pair<std::string_view, Seen>> kept;
  for (const auto& [w, s] : seen)
    if (s.count >= minCount && w != "<unk>") kept.emplace_back(w, s);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    if (a.second.count != b.second.count) return a.second.count > b.second.count;
    return a.second.first < b.second.first;
  });
  std::vector<std::string> tokens = {"<unk>"};
  tokens.reserve(kept.size() + 1);
  for (const auto& k : kept) tokens.emplace_back(k.first);
  return Vocab(std::move(tokens), TextMode::Words);
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
    tokens.push_back(std::move(token));
  }
  if (tokens.size() < 2) throw Error(fmt::format("{}: error: the vocabulary file lists no tokens", path));
  if (tokens.size() > (size_t(1) << 24))
    throw Error(fmt::format("{}: error: the vocabulary lists {} tokens, more than 16777216", path, tokens.size()));
  return Vocab(std::move(tokens), TextMode::Words);
}

}  // namespace graphc
