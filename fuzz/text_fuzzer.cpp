// fuzz/text_fuzzer.cpp — libFuzzer harness, differential: a data file (the
// input after its first byte) read in pieces of 4 to 67 bytes (the first
// byte says which) must give exactly what it gives read in one piece: in each
// text mode the same vocabulary and tokens, all of them and the first 5, or
// the same error. A difference, a crash or a sanitizer report is a finding.
// Built and run by scripts/fuzz.sh.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>

#include "graph/Error.h"
#include "runtime/Corpus.h"

namespace {

// The corpus as one string (vocabulary, then ids), or the error it gave.
std::string load(const std::string& path, graphc::TextMode mode, int64_t maxTokens, size_t pieceBytes) {
  using namespace graphc;
  try {
    TextOptions options;
    options.mode = mode;
    options.pieceBytes = pieceBytes;
    Corpus c = loadCorpus(path, maxTokens, options);
    std::string s;
    for (const auto& token : c.vocab.tokens()) s += token + '\0';
    for (int32_t id : c.tokens) s += std::to_string(id) + ',';
    return s;
  } catch (const Error& e) {
    return std::string("error: ") + e.what();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace graphc;
  if (size < 1) return 0;
  const size_t pieceBytes = 4 + data[0] % 64;
  static int fd = memfd_create("text", 0);  // a regular file that lives in memory
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data + 1, size - 1, 0) != ssize_t(size - 1)) abort();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  for (TextMode mode : {TextMode::D2l, TextMode::Chars, TextMode::Words})
    for (int64_t maxTokens : {int64_t(0), int64_t(5)})
      if (load(path, mode, maxTokens, pieceBytes) != load(path, mode, maxTokens, kTextPieceBytes)) {
        std::fprintf(stderr, "text_fuzzer: --text %s, --max-tokens %lld: pieces of %zu bytes differ from one piece\n",
                     textModeName(mode), (long long)maxTokens, pieceBytes);
        abort();
      }
  return 0;
}
