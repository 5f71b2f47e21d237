// tools/graphc/EarlyStopping.h — what `train` does with each epoch's
// validation perplexity: remember the best epoch (whose parameters are kept),
// decay the rate when it stalls (--lr-schedule plateau), and stop after
// --early-stop epochs without improvement.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace graphc::cli {

struct EarlyStopping {
  int64_t patience = 0;      // --early-stop: stop after this many epochs without improvement (0: never)
  int64_t plateauWait = 0;   // --lr-patience with --lr-schedule plateau (0: no decay)

  double best = INFINITY;
  int64_t bestEpoch = 0;
  int64_t stalled = 0;  // epochs since the rate last decayed or validation last improved

  struct Decision {
    bool improved = false;  // a new best: keep these parameters
    bool decay = false;     // multiply the rate by the plateau factor
    bool stop = false;      // no improvement for `patience` epochs
  };
  Decision observe(int64_t epoch, double valPerplexity);
  // Replays the epochs a resumed checkpoint recorded (NaN where none was measured).
  void replay(const std::vector<double>& valPerplexities);
};

}  // namespace graphc::cli
