// runtime/TextPieces.cpp — see TextPieces.h.
#include "runtime/TextPieces.h"

#include <algorithm>
#include <fmt/format.h>
#include <vector>

#include "graph/Error.h"
#include "runtime/Corpus.h"

namespace graphc {

size_t normalizeLineEndsInPlace(char* text, size_t n, bool& afterCR) {
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c == '\n' && afterCR) {  // the second half of \r\n: its \r already wrote the line end
      afterCR = false;
      continue;
    }
    afterCR = c == '\r';
    text[out++] = afterCR ? '\n' : c;
  }
  return out;
}

void TextChecks::verdict(const std::string& path, const std::string& what, const char* modeName) const {
  if (bytes == 0) throw Error(fmt::format("{}: error: {} is empty", path, what));
  if (controls * 20 > bytes)
    throw Error(fmt::format("{}: error: {} looks binary ({} control bytes), not text", path, what, controls));
  if (firstBadUtf8 >= 0)
    throw Error(fmt::format("{}: error: byte {} is not UTF-8 (--text {} reads UTF-8 text)", path, firstBadUtf8, modeName));
}

namespace {

// Where a piece read up to `n` may end so that no UTF-8 character is cut:
// before a trailing lead byte whose character would run past the end.
// (Invalid bytes are left for the check; a cut \r\n is afterCR's.)
size_t wholeEnd(const char* p, size_t n) {
  size_t end = n;
  for (size_t back = 1; back <= 3 && back <= end; ++back) {
    auto b = static_cast<unsigned char>(p[end - back]);
    if ((b >> 6) == 0x2) continue;  // a continuation byte: look further back for its lead
    size_t length = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 1;
    if (length > back) end -= back;
    break;
  }
  return end;
}

}  // namespace

TextChecks readTextPieces(const BoundedFile& file, const std::string& path, const std::string& what, bool checkUtf8,
                          const std::function<bool(std::string_view)>& onPiece, size_t pieceBytes) {
  pieceBytes = std::max<size_t>(pieceBytes, 4);  // room to hold back a cut character and still move on
  TextChecks checks;
  checks.bytes = file.size();
  std::vector<char> buffer(size_t(std::min<uint64_t>(pieceBytes, file.size())));
  bool afterCR = false;
  for (uint64_t offset = 0; offset < file.size();) {
    size_t n = size_t(std::min<uint64_t>(pieceBytes, file.size() - offset));
    file.readAt(offset, buffer.data(), n);
    if (offset + n < file.size()) n = wholeEnd(buffer.data(), n);  // the rest is read again with the next piece
    for (size_t i = 0; i < n; ++i) {
      auto u = static_cast<unsigned char>(buffer[i]);
      if (u == 0) throw Error(fmt::format("{}: error: {} is binary (it contains NUL bytes), not text", path, what));
      checks.controls += (u < 32 && u != '\n' && u != '\r' && u != '\t' && u != '\f');
    }
    if (checkUtf8 && checks.firstBadUtf8 < 0) {
      const std::string_view piece(buffer.data(), n);
      for (size_t i = 0; i < n;) {
        size_t length = utf8Length(piece, i);
        if (length == 0) {
          checks.firstBadUtf8 = int64_t(offset + i);
          break;
        }
        i += length;
      }
    }
    size_t start = offset == 0 && n >= 3 && std::string_view(buffer.data(), 3) == "\xEF\xBB\xBF" ? 3 : 0;
    size_t length = normalizeLineEndsInPlace(buffer.data() + start, n - start, afterCR);
    offset += n;
    if (!onPiece(std::string_view(buffer.data() + start, length))) break;
  }
  return checks;
}

}  // namespace graphc
