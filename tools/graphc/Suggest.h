// tools/graphc/Suggest.h — "did you mean": the nearest known word to a
// mistyped subcommand, flag, model, pass or hyperparameter.
#pragma once

#include <string>
#include <vector>

namespace graphc::cli {

// The candidate closest to `word` by LLVM's edit distance (insertions,
// deletions, replacements), if it is close enough to be a typo: at most 2
// edits, and at most half the word's length (a swap of two letters is two). "" when none is.
std::string nearestWord(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace graphc::cli
