// runtime/Corpus.cpp — d2l's Time Machine preprocessing, vocabulary and iterators.
#include "runtime/Corpus.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

#include "graph/Error.h"
#include "graph/FileIO.h"
#include "runtime/TextPieces.h"
#include "runtime/TokenCounts.h"
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

size_t utf8Length(std::string_view s, size_t i) {
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
  if (int64_t(tokens_.size()) > kMaxSize)
    throw Error(fmt::format("a vocabulary of {} tokens, more than the {} graphc holds", tokens_.size(), kMaxSize));
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
  TokenCounts counts;
  if (mode == TextMode::Chars) counts.addChars(text);
  else counts.addBytes(text);
  return counts.vocab(mode, 1);
}

int32_t Vocab::wordIndex(std::string_view word) const {
  auto it = wordIds_.find(std::string(word));
  return it == wordIds_.end() ? 0 : it->second;
}

std::vector<int32_t> Vocab::encode(std::string_view s, int64_t limit) const {
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

void D2lCleaner::clean(std::string_view piece, std::string& out) {
  for (char ch : piece) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      lineHasLetter_ = gapAfterLetter_ = false;
    } else if (std::isalpha(c) && c < 128) {
      if (gapAfterLetter_) out += ' ';
      out += char(std::tolower(c));
      lineHasLetter_ = true;
      gapAfterLetter_ = false;
    } else {
      gapAfterLetter_ = lineHasLetter_;
    }
  }
}

std::string preprocessTimeMachine(std::string text) {
  std::string out;
  D2lCleaner().clean(text, out);
  return out;
}

std::string normalizeLineEnds(std::string text) {
  size_t start = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // a UTF-8 byte-order mark is not text
  bool afterCR = false;
  size_t n = normalizeLineEndsInPlace(text.data() + start, text.size() - start, afterCR);
  return text.substr(start, n);
}

namespace {

// One text mode's reading of a file's pieces: d2l's cleaned text, chars'
// text as it is, or whole words (a word cut by a piece's end is carried).
// `onText` gets text whose every character is a token; `onWord` one word.
class ModeReader {
 public:
  explicit ModeReader(TextMode mode) : mode_(mode) {}

  template <class OnText, class OnWord>
  void feed(std::string_view piece, OnText&& onText, OnWord&& onWord) {
    if (mode_ == TextMode::D2l) {
      cleaned_.clear();
      cleaner_.clean(piece, cleaned_);
      onText(std::string_view(cleaned_));
    } else if (mode_ == TextMode::Chars) {
      onText(piece);
    } else {
      size_t i = 0;
      if (!word_.empty()) {  // the word the last piece ended in goes on to the first separator
        while (i < piece.size() && !isWordSeparator(piece[i])) ++i;
        word_.append(piece.substr(0, i));
        if (i == piece.size()) return;
        onWord(std::string_view(word_));
        word_.clear();
      }
      size_t lastWhole = piece.size();  // words before this end are whole; the one after it may go on
      while (lastWhole > i && !isWordSeparator(piece[lastWhole - 1])) --lastWhole;
      forEachWord(piece.substr(i, lastWhole - i), onWord);
      word_.assign(piece.substr(lastWhole));
    }
  }

  template <class OnWord>
  void finish(OnWord&& onWord) {
    if (!word_.empty()) onWord(std::string_view(word_));
    word_.clear();
  }

 private:
  TextMode mode_;
  D2lCleaner cleaner_;
  std::string cleaned_, word_;
};

// What a text is called in errors: "the data file", "the --val-data file".
void checkUsable(const TextChecks& checks, const std::string& path, const std::string& what, TextMode mode, bool any) {
  checks.verdict(path, what, textModeName(mode));
  if (!any && mode == TextMode::D2l) throw Error(fmt::format("{}: error: {} has no letters to train on", path, what));
  if (!any && mode == TextMode::Words) throw Error(fmt::format("{}: error: {} has no words (only whitespace)", path, what));
}

// Encodes the file's tokens with `vocab`, the first `limit` of them (all if < 0);
// with checks when `check` (a file not read before).
std::vector<int32_t> encodeFile(const BoundedFile& file, const std::string& path, const std::string& what,
                                TextMode mode, const Vocab& vocab, int64_t limit, bool check, size_t pieceBytes) {
  const size_t most = limit < 0 ? SIZE_MAX : size_t(limit);
  std::vector<int32_t> ids;
  ModeReader reader(mode);
  auto onText = [&](std::string_view text) {
    std::vector<int32_t> more = vocab.encode(text, limit < 0 ? -1 : limit - int64_t(ids.size()));
    ids.insert(ids.end(), more.begin(), more.end());
  };
  auto onWord = [&](std::string_view word) {
    if (ids.size() < most) ids.push_back(vocab.wordIndex(word));
  };
  TextChecks checks = readTextPieces(file, path, what, mode != TextMode::D2l, [&](std::string_view piece) {
    reader.feed(piece, onText, onWord);
    return check || ids.size() < most;
  }, pieceBytes);
  reader.finish(onWord);
  if (check) checkUsable(checks, path, what, mode, !ids.empty());
  return ids;
}

}  // namespace

Corpus loadCorpus(const std::string& path, int64_t maxTokens, const TextOptions& options) {
  const std::string what = "the data file";
  const TextMode mode = options.mode;
  if (mode == TextMode::Words && options.minCount < 1)
    throw Error(fmt::format("--min-count {}: must be at least 1", options.minCount));
  BoundedFile file(path, kMaxDataBytes, what);
  // Pass 1 checks the whole text and counts its tokens (the vocabulary comes
  // from all of it); pass 2 encodes only the tokens kept.
  TokenCounts counts(fmt::format("{}: error: {}", path, what));
  ModeReader reader(mode);
  bool any = false;
  auto onText = [&](std::string_view text) {
    any = any || !text.empty();
    if (mode == TextMode::Chars) counts.addChars(text);
    else counts.addBytes(text);
  };
  auto onWord = [&](std::string_view word) {
    any = true;
    counts.add(word);
  };
  TextChecks checks = readTextPieces(file, path, what, mode != TextMode::D2l, [&](std::string_view piece) {
    reader.feed(piece, onText, onWord);
    return true;
  }, options.pieceBytes);
  reader.finish(onWord);
  checkUsable(checks, path, what, mode, any);
  Corpus c;
  c.vocab = mode != TextMode::Words          ? counts.vocab(mode, 1)
            : options.vocab                 ? *options.vocab
            : options.vocabFile.empty()     ? counts.vocab(mode, options.minCount)
                                            : readWordVocab(options.vocabFile);
  counts = TokenCounts();  // its memory is not needed while encoding
  c.tokens = encodeFile(file, path, what, mode, c.vocab, maxTokens > 0 ? maxTokens : -1, false, options.pieceBytes);
  return c;
}

std::vector<int32_t> loadHeldOut(const std::string& path, const Vocab& vocab, TextMode mode, const std::string& what,
                                 size_t pieceBytes) {
  if ((mode == TextMode::Words) != vocab.words())
    throw Error(fmt::format("{}: --text {} does not fit the training vocabulary", what, textModeName(mode)));
  const std::string file = fmt::format("the {} file", what);
  std::vector<int32_t> ids = encodeFile(BoundedFile(path, kMaxDataBytes, file), path, file, mode, vocab, -1, true, pieceBytes);
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
