// runtime/Corpus.cpp — d2l's Time Machine preprocessing, vocabulary and iterators.
#include "runtime/Corpus.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <sstream>

#include "graph/Error.h"
#include "graph/FileIO.h"
#include "runtime/Words.h"

namespace graphc {

TextMode textModeFrom(const std::string& name) {
  if (name == "d2l") return TextMode::D2l;
  if (name == "chars") return TextMode::Chars;
  if (name == "words") return TextMode::Words;
  throw Error(fmt::format("--text: '{}' is not d2l, chars or words", escapeForMessage(name)));
}

const char* textModeName(TextMode mode) {
  switch (mode) {
    case TextMode::D2l: return "d2l";
    case TextMode::Chars: return "chars";
    case TextMode::Words: return "words";
  }
  return "?";
}

size_t utf8Length(const std::string& s, size_t i) {
  auto byte = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  unsigned b = byte(i);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) >> 6) != 0x2) return 0;
  if (n == 2 && b < 0xc2) return 0;  // overlong
  return n;
}

Vocab::Vocab(std::vector<std::string> tokens, TextMode mode)
    : tokens_(std::move(tokens)), words_(mode == TextMode::Words) {
  if (words_) {
    wordIds_.reserve(tokens_.size());
    for (size_t i = 1; i < tokens_.size(); ++i) wordIds_.emplace(tokens_[i], int32_t(i));
    return;
  }
  for (size_t i = 1; i < tokens_.size(); ++i) {
    if (tokens_[i].size() == 1) index_[static_cast<unsigned char>(tokens_[i][0])] = int32_t(i);
    else multiByte_[tokens_[i]] = int32_t(i);
  }
}

Vocab Vocab::fromText(const std::string& text, TextMode mode) {
  if (mode == TextMode::Chars) {
    std::map<std::string, std::pair<int64_t, int64_t>> seen;  // character -> (count, first position)
    for (size_t i = 0; i < text.size();) {
      size_t n = std::max<size_t>(1, utf8Length(text, i));
      auto [it, fresh] = seen.try_emplace(text.substr(i, n), 0, int64_t(i));
      ++it->second.first;
      i += n;
    }
    std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> chars(seen.begin(), seen.end());
    std::stable_sort(chars.begin(), chars.end(), [](const auto& a, const auto& b) {
      if (a.second.first != b.second.first) return a.second.first > b.second.first;
      return a.second.second < b.second.second;
    });
    std::vector<std::string> tokens = {"<unk>"};
    for (const auto& c : chars) tokens.push_back(c.first);
    return Vocab(std::move(tokens));
  }
  std::vector<int64_t> count(256, 0), first(256, -1);
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (first[c] < 0) first[c] = int64_t(i);
    ++count[c];
  }
  std::vector<int> chars;
  for (int c = 0; c < 256; ++c)
    if (count[size_t(c)] > 0) chars.push_back(c);
  std::stable_sort(chars.begin(), chars.end(), [&](int a, int b) {
    if (count[size_t(a)] != count[size_t(b)]) return count[size_t(a)] > count[size_t(b)];
    return first[size_t(a)] < first[size_t(b)];
  });
  std::vector<std::string> tokens = {"<unk>"};
  for (int c : chars) tokens.emplace_back(1, char(c));
  return Vocab(std::move(tokens));
}

int32_t Vocab::wordIndex(std::string_view word) const {
  auto it = wordIds_.find(std::string(word));
  return it == wordIds_.end() ? 0 : it->second;
}

std::vector<int32_t> Vocab::encode(const std::string& s, int64_t limit) const {
  std::vector<int32_t> ids;
  const size_t most = limit < 0 ? SIZE_MAX : size_t(limit);
  if (words_) {
    forEachWord(s, [&](std::string_view w) {
      if (ids.size() < most) ids.push_back(wordIndex(w));
    });
    return ids;
  }
  for (size_t i = 0; i < s.size() && ids.size() < most;) {
    size_t n = utf8Length(s, i);
    if (n > 1 && !multiByte_.empty()) {
      auto it = multiByte_.find(s.substr(i, n));
      if (it != multiByte_.end()) {
        ids.push_back(it->second);
        i += n;
        continue;
      }
    }
    ids.push_back(index(s[i]));
    ++i;
  }
  return ids;
}

std::string Vocab::firstUnknown(const std::string& s) const {
  if (words_) {
    std::string unknown;
    forEachWord(s, [&](std::string_view w) {
      if (unknown.empty() && w != "<unk>" && wordIndex(w) == 0) unknown = w;
    });
    return unknown;
  }
  for (size_t i = 0; i < s.size();) {
    size_t n = std::max<size_t>(1, utf8Length(s, i));
    std::string c = s.substr(i, n);
    if ((n == 1 && index(s[i]) == 0) || (n > 1 && !multiByte_.count(c))) return c;
    i += n;
  }
  return "";
}

std::string Vocab::decode(const std::vector<int32_t>& ids) const {
  std::string s;
  for (int32_t id : ids) {
    if (words_ && !s.empty()) s += ' ';
    s += token(id);
  }
  return s;
}

std::string preprocessTimeMachine(std::string text) {
  // In place, line by line: a line's letters lowercased, every run of other
  // characters one space, the line's ends trimmed (d2l's
  // re.sub('[^A-Za-z]+', ' ', line).strip().lower()). Each byte read writes at
  // most one, so the write position never passes the read position: a text of
  // N bytes costs N, not 2N.
  size_t out = 0;
  for (size_t at = 0; at < text.size();) {
    size_t end = std::min(text.find('\n', at), text.size());
    const size_t lineStart = out;
    bool inGap = true;  // a gap at the line's start writes no space
    for (size_t i = at; i < end; ++i) {
      auto c = static_cast<unsigned char>(text[i]);
      if (std::isalpha(c) && c < 128) {
        text[out++] = char(std::tolower(c));
        inGap = false;
      } else if (!inGap) {
        text[out++] = ' ';
        inGap = true;
      }
    }
    at = end + 1;
    if (out > lineStart && text[out - 1] == ' ') --out;  // the one trailing space a gap at the end wrote
  }
  text.resize(out);  // not shrunk to fit: that would copy it
  return text;
}

// A text corpus larger than this is refused before it is read (the book is 180 KiB).
constexpr uint64_t kMaxDataBytes = uint64_t(1) << 30;

std::string normalizeLineEnds(std::string text) {
  // In place: the output is never longer than what has been read.
  size_t start = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // a UTF-8 byte-order mark is not text
  size_t out = 0;
  for (size_t i = start; i < text.size(); ++i) {
    if (text[i] != '\r') {
      text[out++] = text[i];
    } else {
      text[out++] = '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    }
  }
  text.resize(out);
  text.shrink_to_fit();
  return text;
}

namespace {

// The file's text as the mode reads it, checked.
std::string readText(const std::string& path, TextMode mode, const std::string& what) {
  std::string raw = readFileBounded(path, kMaxDataBytes, what);
  if (raw.empty()) throw Error(fmt::format("{}: error: {} is empty", path, what));
  size_t controls = 0;
  for (char c : raw) {
    auto u = static_cast<unsigned char>(c);
    if (u == 0) throw Error(fmt::format("{}: error: {} is binary (it contains NUL bytes), not text", path, what));
    controls += (u < 32 && c != '\n' && c != '\r' && c != '\t' && c != '\f');
  }
  if (controls * 20 > raw.size())
    throw Error(fmt::format("{}: error: {} looks binary ({} control bytes), not text", path, what, controls));
  raw = normalizeLineEnds(std::move(raw));
  if (mode == TextMode::D2l) {
    std::string text = preprocessTimeMachine(std::move(raw));
    if (text.find_first_not_of(' ') == std::string::npos)
      throw Error(fmt::format("{}: error: {} has no letters to train on", path, what));
    return text;
  }
  for (size_t i = 0; i < raw.size();) {  // checked where it lies: a copy doubled the memory
    size_t n = utf8Length(raw, i);
    if (n == 0)
      throw Error(fmt::format("{}: error: byte {} is not UTF-8 (--text {} reads UTF-8 text)", path, i, textModeName(mode)));
    i += n;
  }
  std::string text = std::move(raw);
  if (mode == TextMode::Words) {
    bool any = false;
    forEachWord(text, [&](std::string_view) { any = true; });
    if (!any) throw Error(fmt::format("{}: error: {} has no words (only whitespace)", path, what));
  }
  return text;
}

}  // namespace

Corpus loadCorpus(const std::string& path, int64_t maxTokens, const TextOptions& options) {
  std::string text = readText(path, options.mode, "the data file");
  Corpus c;
  if (options.mode == TextMode::Words) {
    if (options.minCount < 1) throw Error(fmt::format("--min-count {}: must be at least 1", options.minCount));
    c.vocab = options.vocab                 ? *options.vocab
              : options.vocabFile.empty() ? wordVocabFrom(text, options.minCount)
                                          : readWordVocab(options.vocabFile);
  } else {
    c.vocab = Vocab::fromText(text, options.mode);
  }
  // Only the tokens kept are made (the vocabulary still comes from the whole text).
  c.tokens = c.vocab.encode(text, maxTokens > 0 ? maxTokens : -1);
  return c;
}

std::vector<int32_t> loadHeldOut(const std::string& path, const Vocab& vocab, TextMode mode, const std::string& what) {
  if ((mode == TextMode::Words) != vocab.words())
    throw Error(fmt::format("{}: --text {} does not fit the training vocabulary", what, textModeName(mode)));
  std::vector<int32_t> ids = vocab.encode(readText(path, mode, fmt::format("the {} file", what)));
  if (ids.size() < 2) throw Error(fmt::format("{}: error: the {} file has {} token; evaluation needs at least 2", path, what, ids.size()));
  return ids;
}

int64_t minTokensForOneBatch(int64_t batchSize, int64_t numSteps, IterKind kind) {
  // Worst case offsets: random drops up to T-1 tokens, sequential up to T.
  if (kind == IterKind::Random) return (numSteps - 1) + batchSize * numSteps + 1;
  if (kind == IterKind::Windows) return batchSize * numSteps + 1;
  return numSteps + batchSize * numSteps + 1;
}

int64_t windowBatchesPerEpoch(int64_t corpusTokens, int64_t batchSize, int64_t numSteps, int64_t windowBatches) {
  return windowBatches > 0 ? windowBatches : (corpusTokens - 1) / (batchSize * numSteps);
}

std::vector<Minibatch> epochBatches(const std::vector<int32_t>& corpus, int64_t B, int64_t T, IterKind kind, Rng& rng,
                                    int64_t windowBatches) {
  const int64_t n = int64_t(corpus.size());
  std::vector<Minibatch> batches;
  auto fill = [&](Minibatch& mb, int64_t row, int64_t start) {
    for (int64_t t = 0; t < T; ++t) {
      mb.X.i32()[row * T + t] = corpus[size_t(start + t)];
      mb.Y.i32()[row * T + t] = corpus[size_t(start + t + 1)];
    }
  };
  if (kind == IterKind::Windows) {
    const int64_t count = windowBatchesPerEpoch(n, B, T, windowBatches), lastStart = n - T - 1;
    if (lastStart < 0) return batches;
    for (int64_t b = 0; b < count; ++b) {
      Minibatch mb{Tensor(DType::I32, {B, T}), Tensor(DType::I32, {B, T})};
      for (int64_t r = 0; r < B; ++r) fill(mb, r, rng.uniformInt(0, lastStart));
      batches.push_back(std::move(mb));
    }
  } else if (kind == IterKind::Random) {
    int64_t offset = rng.uniformInt(0, T - 1);
    int64_t numSubseqs = (n - offset - 1) / T;
    std::vector<int64_t> starts;
    for (int64_t i = 0; i < numSubseqs; ++i) starts.push_back(offset + i * T);
    rng.shuffle(starts);
    for (int64_t b = 0; b + B <= numSubseqs; b += B) {
      Minibatch mb{Tensor(DType::I32, {B, T}), Tensor(DType::I32, {B, T})};
      for (int64_t r = 0; r < B; ++r) fill(mb, r, starts[size_t(b + r)]);
      batches.push_back(std::move(mb));
    }
  } else {
    int64_t offset = rng.uniformInt(0, T);
    int64_t numTokens = n - offset - 1 > 0 ? ((n - offset - 1) / B) * B : 0;
    int64_t rowLength = numTokens / B;  // each batch row reads its own contiguous stretch
    for (int64_t i = 0; i + T <= rowLength; i += T) {
      Minibatch mb{Tensor(DType::I32, {B, T}), Tensor(DType::I32, {B, T})};
      for (int64_t r = 0; r < B; ++r) fill(mb, r, offset + r * rowLength + i);
      batches.push_back(std::move(mb));
    }
  }
  return batches;
}

}  // namespace graphc
