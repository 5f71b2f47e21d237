// runtime/TextPieces.h — a text file read in pieces of bounded size, checked
// and with its line ends normalized, so a corpus costs its vocabulary and the
// tokens kept rather than its bytes (issue 25: a 1 GiB one-line file with
// --max-tokens 2000 cost 6 GiB when it was read whole).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "graph/FileIO.h"

namespace graphc {

// A text corpus larger than this is refused before it is read (the book is 180 KiB).
constexpr uint64_t kMaxDataBytes = uint64_t(1) << 30;

// The size of the pieces a text file is read in.
constexpr size_t kTextPieceBytes = size_t(8) << 20;

// In place: \r\n and a lone \r become \n. `afterCR` carries a \r that ended
// the previous piece, so a \r\n split between two pieces is still one line
// end. Returns the new length (never longer than n).
size_t normalizeLineEndsInPlace(char* text, size_t n, bool& afterCR);

// What the whole-file checks found; `verdict` throws the first of them.
struct TextChecks {
  uint64_t bytes = 0, controls = 0;  // control bytes other than \n \r \t \f
  int64_t firstBadUtf8 = -1;         // the file offset of the first byte that is not UTF-8 (checked modes)
  // Throws "PATH: error: WHAT is empty / looks binary / byte N is not UTF-8 (--text MODE reads UTF-8 text)".
  void verdict(const std::string& path, const std::string& what, const char* modeName) const;
};

// Reads `file` in pieces of at most `pieceBytes` (at least 4) and calls
// onPiece with each piece's text: a leading UTF-8 byte-order mark dropped,
// line ends normalized, never ending inside a UTF-8 character. A NUL byte throws at once ("WHAT is binary"); the other checks are
// gathered into the result (UTF-8 only when `checkUtf8`). onPiece returning
// false stops the reading (the checks then cover only what was read).
TextChecks readTextPieces(const BoundedFile& file, const std::string& path, const std::string& what, bool checkUtf8,
                          const std::function<bool(std::string_view)>& onPiece, size_t pieceBytes = kTextPieceBytes);

}  // namespace graphc
