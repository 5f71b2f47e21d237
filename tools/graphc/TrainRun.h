// tools/graphc/TrainRun.h — one `graphc train` run once its flags are read:
// the data, the trainer (fresh or resumed), the epochs with their progress,
// validation and early stopping, and what is written and printed at the end.
#pragma once

#include <atomic>

#include "tools/graphc/TrainFlags.h"

namespace graphc::cli {

// Set when the first step is about to run: before it, every rank checks the
// same flags and files, so only rank 0 reports what they all found.
extern bool trainingStarted;

void runTrain(TrainFlags flags);

}  // namespace graphc::cli
