// tools/graphc/Suggest.cpp — see Suggest.h.
#include "tools/graphc/Suggest.h"

#include <algorithm>
#include <llvm/ADT/StringRef.h>

namespace graphc::cli {

std::string nearestWord(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  unsigned bestDistance = 3;  // more than 2 edits is not a typo
  for (const std::string& c : candidates) {
    // LLVM's Levenshtein distance (as clang's typo correction), capped at 3.
    unsigned distance = llvm::StringRef(word).edit_distance(c, /*AllowReplacements=*/true, /*MaxEditDistance=*/3);
    if (distance < bestDistance && distance * 2 <= std::max<size_t>(word.size(), 2)) {
      best = c;
      bestDistance = distance;
    }
  }
  return best;
}

}  // namespace graphc::cli
