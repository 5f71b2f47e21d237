// tools/graphc/RankAgreement.h — before a distributed run's first
// collective, the ranks check that they are about to run the same run: the
// same build, model, sizes, hyperparameters, data, resume state, engine and
// target. A rank that disagrees would size its buffers otherwise, and the
// first all_reduce would write past them (or hang, or fail only at the
// replica check an epoch later).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runtime/Checkpoint.h"
#include "runtime/Communicator.h"
#include "runtime/Corpus.h"
#include "tools/graphc/TrainFlags.h"

namespace graphc::cli {

// (what sets it: a flag, or a description; its value on this rank)
using RunFingerprint = std::vector<std::pair<std::string, std::string>>;

// What shapes a training run: the build, every run setting a checkpoint
// records, the epochs, engine, target, timeout and save path, the texts (their
// vocabulary and tokens) and what a --resume checkpoint holds.
RunFingerprint trainFingerprint(const TrainFlags& f, const Corpus& corpus, const std::vector<int32_t>& valTokens,
                                const std::vector<int32_t>& testTokens, const Checkpoint* resumed);

// Throws on every rank when they disagree: on rank 0, naming the first
// setting, the ranks that differ and rank 0's value; elsewhere an empty
// Error (main prints nothing for it). Two collectives
// (allGather): the count of settings, then a 64-bit hash of each.
void checkRanksAgree(Communicator& world, const RunFingerprint& mine);

}  // namespace graphc::cli
