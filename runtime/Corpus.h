// runtime/Corpus.h — The Time Machine as d2l reads it: characters as tokens,
// a frequency-ordered vocabulary, and the two minibatch iterators.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/Random.h"
#include "runtime/TextPieces.h"
#include "graph/eval/Tensor.h"

namespace graphc {

// How a text becomes tokens: d2l's cleaning of The Time Machine (letters and
// space, lowercased; the seed's), every UTF-8 character as it is, or
// whitespace-separated words (runtime/Words.h).
enum class TextMode { D2l, Chars, Words };
// "d2l", "chars" or "words"; throws naming --text otherwise.
TextMode textModeFrom(const std::string& name);
const char* textModeName(TextMode mode);

class Vocab {
 public:
  // The most tokens a vocabulary holds, <unk> included (about 250 MB of words).
  static constexpr int64_t kMaxSize = int64_t(1) << 21;
  Vocab() = default;
  // Character tokens (d2l, chars) or word tokens (words); tokens[0] is <unk>.
  explicit Vocab(std::vector<std::string> tokens, TextMode mode = TextMode::Chars);
  // "<unk>" then characters by descending count (ties: first occurrence).
  // Characters are bytes in D2l mode and UTF-8 sequences in Chars mode.
  static Vocab fromText(const std::string& text, TextMode mode = TextMode::D2l);

  int64_t size() const { return int64_t(tokens_.size()); }
  bool words() const { return words_; }
  const std::string& token(int64_t i) const { return tokens_.at(size_t(i)); }
  const std::vector<std::string>& tokens() const { return tokens_; }
  int32_t index(char c) const { return index_[static_cast<unsigned char>(c)]; }  // 0 (<unk>) if unknown
  // Character by character: a UTF-8 sequence that is a token is that token,
  // any other byte is its own token or <unk>. (Exported libraries encode so too.)
  // Word vocabularies split at whitespace; an unknown word is <unk>.
  std::vector<int32_t> encode(std::string_view s, int64_t limit = -1) const;  // limit >= 0: the first tokens only
  // The id of a whole word (0, <unk>, when it is not one); word vocabularies only.
  int32_t wordIndex(std::string_view word) const;
  // The first character (word) of `s` with no token, or "" when every one has one.
  std::string firstUnknown(const std::string& s) const;
  // Characters concatenated; words joined by single spaces.
  std::string decode(const std::vector<int32_t>& ids) const;

 private:
  std::vector<std::string> tokens_;
  int32_t index_[256] = {};
  std::map<std::string, int32_t, std::less<>> multiByte_;  // tokens longer than a byte
  bool words_ = false;
  std::unordered_map<std::string, int32_t> wordIds_;  // word vocabularies: every token
};

struct Corpus {
  Vocab vocab;
  std::vector<int32_t> tokens;
};

// d2l's preprocessing of each line: runs of non-letters become one space,
// strip, lowercase; lines joined without separator
// (re.sub('[^A-Za-z]+', ' ', line).strip().lower()). Fed a text in pieces,
// the state carries a line cut between them.
class D2lCleaner {
 public:
  void clean(std::string_view piece, std::string& out);  // appends the piece's cleaned text

 private:
  bool lineHasLetter_ = false, gapAfterLetter_ = false;  // a gap writes its space only when a letter follows
};
std::string preprocessTimeMachine(std::string raw);

// Line ends as Python's universal newlines read them: \r\n, \r and \n all
// become \n; a leading UTF-8 byte-order mark is dropped.
std::string normalizeLineEnds(std::string text);

// The length of the UTF-8 sequence starting at s[i] (1..4), or 0 if it is not valid UTF-8.
size_t utf8Length(std::string_view s, size_t i);

// How a file becomes tokens: the mode, and for words which of them are kept.
struct TextOptions {
  TextMode mode = TextMode::D2l;
  int64_t minCount = 1;     // words seen fewer times in the training text become <unk>
  std::string vocabFile;    // words: take the vocabulary from this list instead (readWordVocab)
  std::optional<Vocab> vocab;  // words: take this vocabulary (a resumed run's)
  size_t pieceBytes = kTextPieceBytes;  // the file is read in pieces this large (tests make them tiny)
};

// Reads and preprocesses a text (in Chars and Words modes: checks it is
// UTF-8); keeps the first maxTokens tokens (all if <= 0), with the vocabulary
// built from the whole text (or read from vocabFile). Read in pieces, twice
// (counting, then encoding only the tokens kept): it costs the vocabulary,
// the tokens kept (4 bytes each) and a piece, not the file's size. Throws
// one-line errors for a missing, empty, binary, non-UTF-8 (Chars, Words) or
// letter-free (D2l) file.
Corpus loadCorpus(const std::string& path, int64_t maxTokens, const TextOptions& options);
inline Corpus loadCorpus(const std::string& path, int64_t maxTokens, TextMode mode = TextMode::D2l) {
  TextOptions options;
  options.mode = mode;
  return loadCorpus(path, maxTokens, options);
}

// Held-out text (validation, test) read as the training text was and encoded
// with its vocabulary: every token counts, those outside it as <unk>. `what`
// names the file in errors ("--val-data").
std::vector<int32_t> loadHeldOut(const std::string& path, const Vocab& vocab, TextMode mode, const std::string& what,
                                 size_t pieceBytes = kTextPieceBytes);

struct Minibatch {
  Tensor X, Y;  // i32 [batch, steps]; Y is X shifted by one token
};

// Random and Sequential: d2l's seq_data_iter_random / seq_data_iter_sequential.
// Windows: nanoGPT's get_batch, every row a window starting anywhere, drawn
// independently (windows overlap; an epoch is just a number of steps).
enum class IterKind { Random, Sequential, Windows };

// One epoch of minibatches, with the start offsets drawn from rng; Windows
// draws `windowBatches` of them (0: as many as the corpus has whole windows
// for, (n - 1) / (batchSize numSteps)).
std::vector<Minibatch> epochBatches(const std::vector<int32_t>& corpus, int64_t batchSize, int64_t numSteps,
                                    IterKind kind, Rng& rng, int64_t windowBatches = 0);

// The minibatches epochBatches gives Windows.
int64_t windowBatchesPerEpoch(int64_t corpusTokens, int64_t batchSize, int64_t numSteps, int64_t windowBatches);

// The fewest tokens that give at least one minibatch for every offset.
int64_t minTokensForOneBatch(int64_t batchSize, int64_t numSteps, IterKind kind);

}  // namespace graphc
