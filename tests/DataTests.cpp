// tests/DataTests.cpp — d2l's preprocessing, vocabulary and minibatch iterators.
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <set>

#include "TestUtil.h"
#include "runtime/Corpus.h"
#include "runtime/TokenCounts.h"
#include "runtime/Words.h"

using namespace graphc;
using graphc::test::scratchFile;

TEST_CASE("preprocessing: non-letters become one space, strip, lowercase, lines joined") {
  CHECK(preprocessTimeMachine("The Time-Machine,  by H. G.\n\n  WELLS [1898]\r\n") == "the time machine by h gwells");
}

TEST_CASE("line ends: \\r\\n, \\r and \\n end lines in every mode; a byte-order mark is dropped") {
  CHECK(normalizeLineEnds("\xEF\xBB\xBF" "a\r\nb\rc\n\rd") == "a\nb\nc\n\nd");
  std::string dir = std::string(GRAPHC_SCRATCH_DIR);
  std::ofstream(dir + "/mac.txt", std::ios::binary) << "\xEF\xBB\xBFThe Time\rMachine\r\nby";
  Corpus d2l = loadCorpus(dir + "/mac.txt", 0, TextMode::D2l);
  CHECK(d2l.vocab.decode(d2l.tokens) == "the timemachineby");  // d2l joins lines without a separator
  Corpus chars = loadCorpus(dir + "/mac.txt", 0, TextMode::Chars);
  CHECK(chars.vocab.decode(chars.tokens) == "The Time\nMachine\nby");
  Corpus words = loadCorpus(dir + "/mac.txt", 0, TextMode::Words);
  CHECK(words.vocab.decode(words.tokens) == "The Time Machine by");
}

TEST_CASE("the book: 170580 tokens, 28 entries in d2l's order") {
  Corpus c = loadCorpus(GRAPHC_DATA_FILE, 0);
  CHECK(c.tokens.size() == 170580);
  REQUIRE(c.vocab.size() == 28);
  std::string order;
  for (int64_t i = 1; i < c.vocab.size(); ++i) order += c.vocab.token(i);
  CHECK(c.vocab.token(0) == "<unk>");
  CHECK(order == " etainoshrdlmucfwgypbvkxzjq");
  CHECK(c.vocab.decode({c.tokens.begin(), c.tokens.begin() + 29}) == "the time machine by h g wells");
  Corpus cut = loadCorpus(GRAPHC_DATA_FILE, 10000);
  CHECK(cut.tokens.size() == 10000);
  CHECK(cut.vocab.tokens() == c.vocab.tokens());  // the vocabulary comes from the whole book
}

TEST_CASE("--text chars: every UTF-8 character is a token, by descending count; CRLF becomes LF") {
  Vocab v = Vocab::fromText("aÉé a\n9é", TextMode::Chars);
  CHECK(v.tokens() == std::vector<std::string>{"<unk>", "a", "é", "É", " ", "\n", "9"});
  CHECK(v.encode("éa9") == std::vector<int32_t>{2, 1, 6});
  CHECK(v.encode("Ωa") == std::vector<int32_t>{0, 0, 1});  // an unknown 2-byte character: two <unk> bytes
  CHECK(v.firstUnknown("aéΩ9") == "Ω");
  CHECK(v.firstUnknown("a9é") == "");
  CHECK(v.decode(v.encode("a\néÉ")) == "a\néÉ");
  CHECK(utf8Length("\xe2\x80\x94", 0) == 3);
  CHECK(utf8Length("\xc3", 0) == 0);       // truncated
  CHECK(utf8Length("\xc0\xaf", 0) == 0);  // overlong
  CHECK(utf8Length("\x80", 0) == 0);       // a continuation byte alone
  std::string dir = std::string(GRAPHC_SCRATCH_DIR);
  {
    std::ofstream(dir + "/chars.txt", std::ios::binary) << "Ab 1\r\nAb 2\n";
    std::ofstream(dir + "/latin1.txt", std::ios::binary) << "caf\xe9";
  }
  Corpus c = loadCorpus(dir + "/chars.txt", 0, TextMode::Chars);
  CHECK(c.vocab.decode(c.tokens) == "Ab 1\nAb 2\n");
  CHECK_THROWS_WITH_AS(loadCorpus(dir + "/latin1.txt", 0, TextMode::Chars), doctest::Contains("byte 3 is not UTF-8"), Error);
  CHECK(loadCorpus(GRAPHC_DATA_FILE, 0, TextMode::D2l).vocab.size() == 28);  // the seed's cleaning unchanged
}

TEST_CASE("sequential iterator: 8 minibatches for every offset; rows continue across minibatches") {
  Corpus c = loadCorpus(GRAPHC_DATA_FILE, 10000);
  std::set<size_t> counts;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Rng rng(seed);
    auto batches = epochBatches(c.tokens, 32, 35, IterKind::Sequential, rng);
    counts.insert(batches.size());
    for (size_t b = 0; b < batches.size(); ++b)
      for (int64_t r = 0; r < 32; ++r) {
        const int32_t* x = batches[b].X.i32() + r * 35;
        const int32_t* y = batches[b].Y.i32() + r * 35;
        for (int64_t t = 0; t + 1 < 35; ++t) REQUIRE(y[t] == x[t + 1]);
        if (b + 1 < batches.size()) REQUIRE(batches[b + 1].X.i32()[r * 35] == y[34]);  // row r continues
      }
  }
  CHECK(counts == std::set<size_t>{8});
}

TEST_CASE("random iterator: shifted targets, distinct subsequences, same seed same batches") {
  std::vector<int32_t> corpus(1000);
  for (size_t i = 0; i < corpus.size(); ++i) corpus[i] = int32_t(i);
  Rng a(3), b(3), c(4);
  auto ba = epochBatches(corpus, 4, 10, IterKind::Random, a);
  auto bb = epochBatches(corpus, 4, 10, IterKind::Random, b);
  auto bc = epochBatches(corpus, 4, 10, IterKind::Random, c);
  REQUIRE(ba.size() == 24);  // (1000 - offset - 1) / 10 = 98 or 99 subsequences -> 24 batches
  std::set<int32_t> starts;
  for (size_t i = 0; i < ba.size(); ++i) {
    CHECK(ba[i].X.i32Vector() == bb[i].X.i32Vector());
    for (int64_t k = 0; k < ba[i].X.size(); ++k) CHECK(ba[i].Y.i32()[k] == ba[i].X.i32()[k] + 1);
    for (int64_t r = 0; r < 4; ++r) starts.insert(ba[i].X.i32()[r * 10]);
  }
  CHECK(starts.size() == 96);
  bool differs = false;
  for (size_t i = 0; i < ba.size(); ++i) differs |= ba[i].X.i32Vector() != bc[i].X.i32Vector();
  CHECK(differs);
}

TEST_CASE("windows iterator: windows starting anywhere, shifted targets, as many batches as asked, seeded") {
  std::vector<int32_t> corpus(1000);
  for (size_t i = 0; i < corpus.size(); ++i) corpus[i] = int32_t(i);
  Rng a(3), b(3);
  auto wa = epochBatches(corpus, 4, 10, IterKind::Windows, a, 50);
  auto wb = epochBatches(corpus, 4, 10, IterKind::Windows, b, 50);
  REQUIRE(wa.size() == 50);
  CHECK(epochBatches(corpus, 4, 10, IterKind::Windows, a).size() == 24);  // 0: (1000 - 1) / 40 whole windows
  std::set<int32_t> starts;
  for (size_t i = 0; i < wa.size(); ++i) {
    CHECK(wa[i].X.i32Vector() == wb[i].X.i32Vector());
    for (int64_t r = 0; r < 4; ++r) {
      int32_t start = wa[i].X.i32()[r * 10];
      CHECK(start + 10 < 1000);  // its last target is in the corpus
      starts.insert(start);
      for (int64_t t = 0; t < 10; ++t) {
        CHECK(wa[i].X.i32()[r * 10 + t] == start + t);  // a contiguous window
        CHECK(wa[i].Y.i32()[r * 10 + t] == start + t + 1);
      }
    }
  }
  bool unaligned = false;  // not d2l's grid of one offset plus multiples of the window
  for (int32_t s : starts) unaligned |= (s - *starts.begin()) % 10 != 0;
  CHECK(unaligned);
  CHECK(starts.size() > 150);  // 200 draws from 990 starts
}

TEST_CASE("bad data files are refused with one line") {
  std::string dir = GRAPHC_SCRATCH_DIR;
  auto write = [&](const std::string& name, const std::string& content) {
    std::string p = dir + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  };
  CHECK_THROWS_WITH_AS(loadCorpus(dir + "/no-such-file.txt", 0), doctest::Contains("cannot open the data file"), Error);
  CHECK_THROWS_WITH_AS(loadCorpus(write("empty.txt", ""), 0), doctest::Contains("the data file is empty"), Error);
  CHECK_THROWS_WITH_AS(loadCorpus(write("digits.txt", "123 456\n789\n"), 0), doctest::Contains("no letters"), Error);
  CHECK_THROWS_WITH_AS(loadCorpus(write("binary.bin", std::string("ab\0cd", 5)), 0), doctest::Contains("binary"), Error);
}

TEST_CASE("a text read in pieces of any size gives the tokens and vocabulary it gives read whole") {
  // A byte-order mark, \r\n, \r\r and a final \r, characters of 2 to 4 bytes, a word longer than a piece:
  // every piece size from 4 bytes cuts some of them somewhere.
  const std::string text = "\xEF\xBB\xBF" "Caf\xc3\xa9 \xe2\x80\x94 na\xc3\xafve\r\n  The Time-Machine,\r\rby H. G.\n\n"
                           "WELLS \xf0\x9f\x98\x80 [1898]\r\n\tlong-words-that-span-pieces end\r";
  const std::string path = scratchFile("pieces.txt", text);
  const std::map<TextMode, std::string> whole = {
      {TextMode::D2l, "caf na vethe time machineby h gwellslong words that span pieces end"},
      {TextMode::Chars, "Caf\xc3\xa9 \xe2\x80\x94 na\xc3\xafve\n  The Time-Machine,\n\nby H. G.\n\nWELLS \xf0\x9f\x98\x80 [1898]\n\tlong-words-that-span-pieces end\n"},
      {TextMode::Words, "Caf\xc3\xa9 \xe2\x80\x94 na\xc3\xafve The Time-Machine, by H. G. WELLS \xf0\x9f\x98\x80 [1898] long-words-that-span-pieces end"}};
  for (const auto& [mode, expected] : whole) {
    CAPTURE(textModeName(mode));
    const Corpus reference = loadCorpus(path, 0, mode);
    CHECK(reference.vocab.decode(reference.tokens) == expected);
    for (size_t pieceBytes = 4; pieceBytes <= 41; ++pieceBytes) {
      CAPTURE(pieceBytes);
      TextOptions options;
      options.mode = mode;
      options.pieceBytes = pieceBytes;
      Corpus c = loadCorpus(path, 0, options);
      CHECK(c.vocab.tokens() == reference.vocab.tokens());
      CHECK(c.tokens == reference.tokens);
      Corpus cut = loadCorpus(path, 7, options);  // the vocabulary from all of it, the first 7 tokens
      CHECK(cut.vocab.tokens() == reference.vocab.tokens());
      CHECK(cut.tokens == std::vector<int32_t>(reference.tokens.begin(), reference.tokens.begin() + 7));
      CHECK(loadHeldOut(path, reference.vocab, mode, "--val-data", pieceBytes) == reference.tokens);
    }
  }
  // A byte that is not UTF-8 is reported at its place in the file (after a \r\n), whatever the pieces.
  const std::string bad = scratchFile("bad-utf8.txt", "abc\r\ndef\xff gh");
  for (size_t pieceBytes : {size_t(4), size_t(5), size_t(9), kTextPieceBytes}) {
    TextOptions options;
    options.mode = TextMode::Words;
    options.pieceBytes = pieceBytes;
    CHECK_THROWS_WITH_AS(loadCorpus(bad, 0, options), doctest::Contains("byte 8 is not UTF-8"), Error);
  }
}

TEST_CASE("word counting is bounded: a vocabulary file or a text with too many distinct words is refused") {
  TokenCounts counts("the text");
  for (int i = 0; i < 1000; ++i) counts.add("w" + std::to_string(i % 250));
  Vocab v = counts.vocab(TextMode::Words, 4);
  CHECK(v.size() == 251);
  CHECK(v.token(1) == "w0");  // equal counts: the first seen first
  std::string many;
  for (int64_t i = 0; i < Vocab::kMaxSize; ++i) many += "t" + std::to_string(i) + "\n";
  CHECK_THROWS_WITH_AS(readWordVocab(scratchFile("many.vocab", many)),
                       doctest::Contains(fmt::format("lists more than {} tokens", Vocab::kMaxSize).c_str()), Error);
}
