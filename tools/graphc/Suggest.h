// tools/graphc/Suggest.h — "did you mean": the nearest known word to a
// mistyped subcommand or flag.
#pragma once

#include <string>
#include <vector>

namespace graphc::cli {

// The candidate closest to `word` by edit distance (a transposition counts
// as one edit), if it is close enough to be a typo: at most 2 edits, and
// fewer than half the word's length. "" when none is.
std::string nearestWord(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace graphc::cli
