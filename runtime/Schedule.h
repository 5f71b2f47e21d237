// runtime/Schedule.h — learning-rate schedules. The training step reads its
// rate from the scalar input "lr" (OptimizerConfig::learningRateInput); the
// trainer sets it before every step from the schedule, the step count and,
// for `plateau`, the scale that validation has brought it to.
#pragma once

#include <cstdint>
#include <string>

namespace graphc {

struct ScheduleConfig {
  // constant | inverse-time (lr / (1 + decayRate t), Bengio et al. 2003) |
  // cosine (to minLr over totalSteps) | plateau (times factor whenever the
  // validation perplexity has not improved for `patience` epochs)
  std::string kind = "constant";
  double decayRate = 0;     // inverse-time: r, per step
  int64_t warmup = 0;       // steps of linear warm-up from 0, before any schedule
  double minLr = 0;         // cosine: the rate it ends at
  int64_t totalSteps = 0;   // cosine: steps from the end of warm-up to minLr (0: the trainer sets the run's)
  int64_t epochs = 0;       // cosine: the run's length, from which the trainer sets totalSteps
  double factor = 0.25;     // plateau: the rate is multiplied by this
  int64_t patience = 1;     // plateau: epochs without improvement first
};

// Throws "--FLAG: ..." for nonsense: an unknown kind, negative rates, a factor outside (0, 1), ...
void validate(const ScheduleConfig& c, double baseLr);

// The rate for step t (0-based, the step about to run); `scale` is plateau's.
double learningRateAt(const ScheduleConfig& c, double baseLr, int64_t t, double scale = 1);

}  // namespace graphc
