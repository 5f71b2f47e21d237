// runtime/TokenCounts.cpp — see TokenCounts.h.
#include "runtime/TokenCounts.h"

#include <algorithm>
#include <fmt/format.h>
#include <functional>

#include "graph/Error.h"
#include "runtime/Corpus.h"

namespace graphc {

std::string_view TokenCounts::entryText(size_t i) const {
  const size_t end = i + 1 < entries_.size() ? entries_[i + 1].offset : text_.size();
  return std::string_view(text_).substr(entries_[i].offset, end - entries_[i].offset);
}

void TokenCounts::grow() {
  std::vector<uint32_t> slots(std::max<size_t>(1024, slots_.size() * 2), 0);
  const size_t mask = slots.size() - 1;
  for (size_t i = 0; i < entries_.size(); ++i) {
    size_t s = std::hash<std::string_view>{}(entryText(i)) & mask;
    while (slots[s] != 0) s = (s + 1) & mask;
    slots[s] = uint32_t(i + 1);
  }
  slots_.swap(slots);
}

void TokenCounts::add(std::string_view token) {
  const int64_t at = position_++;
  if (token.size() == 1) {
    auto b = static_cast<unsigned char>(token[0]);
    if (byteCount_[b]++ == 0) byteFirst_[b] = at;
    return;
  }
  if (slots_.empty()) grow();
  const size_t mask = slots_.size() - 1;
  size_t s = std::hash<std::string_view>{}(token) & mask;
  for (; slots_[s] != 0; s = (s + 1) & mask)
    if (entryText(slots_[s] - 1) == token) {
      ++entries_[slots_[s] - 1].count;
      return;
    }
  if (int64_t(entries_.size()) >= kMaxDistinct)
    throw Error(fmt::format("{} has more than {} distinct tokens, the most graphc counts", what_, kMaxDistinct));
  if (text_.size() + token.size() > UINT32_MAX || at > int64_t(UINT32_MAX))
    throw Error(fmt::format("{} is too large to count (over 4 GiB of distinct tokens)", what_));
  entries_.push_back({uint32_t(text_.size()), 1, uint32_t(at)});
  text_.append(token);
  slots_[s] = uint32_t(entries_.size());
  if (entries_.size() * 2 > slots_.size()) grow();
}

void TokenCounts::addBytes(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) add(text.substr(i, 1));
}

void TokenCounts::addChars(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t n = std::max<size_t>(1, utf8Length(text, i));
    add(text.substr(i, n));
    i += n;
  }
}

Vocab TokenCounts::vocab(TextMode mode, int64_t minCount) const {
  // Each kept token is a number: an entry's index, or entries + b for the byte b (4 bytes each while sorted).
  const uint32_t bytesFrom = uint32_t(entries_.size());
  std::vector<uint32_t> kept;
  auto keeps = [&](size_t i) { return int64_t(entries_[i].count) >= minCount && entryText(i) != "<unk>"; };
  int64_t count = 0;  // counted first: a vocabulary too big is refused before it costs memory
  for (int b = 0; b < 256; ++b) count += byteCount_[size_t(b)] >= minCount;
  for (size_t i = 0; i < entries_.size(); ++i) count += keeps(i);
  if (count >= Vocab::kMaxSize)
    throw Error(fmt::format("{} has {} tokens seen {}, more than a vocabulary of {} holds{}", what_, count,
                            minCount == 1 ? std::string("at all") : fmt::format("at least {} times", minCount),
                            Vocab::kMaxSize, mode == TextMode::Words ? " (raise --min-count)" : ""));
  kept.reserve(size_t(count));
  for (int b = 0; b < 256; ++b)
    if (byteCount_[size_t(b)] >= minCount) kept.push_back(bytesFrom + uint32_t(b));
  for (size_t i = 0; i < entries_.size(); ++i)
    if (keeps(i)) kept.push_back(uint32_t(i));
  auto countOf = [&](uint32_t k) { return k < bytesFrom ? int64_t(entries_[k].count) : byteCount_[k - bytesFrom]; };
  auto firstOf = [&](uint32_t k) { return k < bytesFrom ? int64_t(entries_[k].first) : byteFirst_[k - bytesFrom]; };
  std::sort(kept.begin(), kept.end(), [&](uint32_t a, uint32_t b) {
    return countOf(a) != countOf(b) ? countOf(a) > countOf(b) : firstOf(a) < firstOf(b);
  });
  std::vector<std::string> tokens = {"<unk>"};
  tokens.reserve(kept.size() + 1);
  for (uint32_t k : kept) tokens.push_back(k < bytesFrom ? std::string(entryText(k)) : std::string(1, char(k - bytesFrom)));
  return Vocab(std::move(tokens), mode);
}

}  // namespace graphc
