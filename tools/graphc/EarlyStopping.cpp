// tools/graphc/EarlyStopping.cpp — see EarlyStopping.h.
#include "tools/graphc/EarlyStopping.h"

namespace graphc::cli {

EarlyStopping::Decision EarlyStopping::observe(int64_t epoch, double valPerplexity) {
  Decision d;
  if (!std::isfinite(valPerplexity)) return d;
  if (valPerplexity < best) {
    best = valPerplexity;
    bestEpoch = epoch;
    stalled = 0;
    d.improved = true;
    return d;
  }
  ++stalled;
  if (plateauWait > 0 && stalled >= plateauWait) {
    d.decay = true;
    stalled = 0;
  }
  d.stop = patience > 0 && epoch - bestEpoch >= patience;
  return d;
}

void EarlyStopping::replay(const std::vector<double>& valPerplexities) {
  for (size_t i = 0; i < valPerplexities.size(); ++i) observe(int64_t(i) + 1, valPerplexities[i]);
}

}  // namespace graphc::cli
