// runtime/Schedule.cpp — see Schedule.h.
#include "runtime/Schedule.h"

#include <cmath>
#include <fmt/format.h>

#include "graph/Error.h"

namespace graphc {

void validate(const ScheduleConfig& c, double baseLr) {
  if (c.kind != "constant" && c.kind != "inverse-time" && c.kind != "cosine" && c.kind != "plateau")
    throw Error(fmt::format("--lr-schedule: '{}' is not constant, inverse-time, cosine or plateau", escapeForMessage(c.kind)));
  if (!(c.decayRate >= 0) || !std::isfinite(c.decayRate))
    throw Error(fmt::format("--lr-decay-rate {}: must be 0 or positive", c.decayRate));
  if (c.kind == "inverse-time" && c.decayRate == 0)
    throw Error("--lr-schedule inverse-time: give its rate r in lr / (1 + r t) with --lr-decay-rate");
  if (c.warmup < 0) throw Error(fmt::format("--warmup {}: must be 0 or positive", c.warmup));
  if (!(c.minLr >= 0) || !(c.minLr <= baseLr))
    throw Error(fmt::format("--min-lr {}: must be in [0, --lr {}]", c.minLr, baseLr));
  if (!(c.factor > 0 && c.factor < 1)) throw Error(fmt::format("--lr-factor {}: must be in (0, 1)", c.factor));
  if (c.patience < 1) throw Error(fmt::format("--lr-patience {}: must be at least 1", c.patience));
}

double learningRateAt(const ScheduleConfig& c, double baseLr, int64_t t, double scale) {
  if (c.warmup > 0 && t < c.warmup) return baseLr * double(t + 1) / double(c.warmup);
  int64_t after = t - c.warmup;
  if (c.kind == "inverse-time") return baseLr / (1 + c.decayRate * double(t));
  if (c.kind == "cosine") {
    if (c.totalSteps <= 0 || after >= c.totalSteps) return c.minLr;
    double progress = double(after) / double(c.totalSteps);
    return c.minLr + 0.5 * (baseLr - c.minLr) * (1 + std::cos(M_PI * progress));
  }
  if (c.kind == "plateau") return baseLr * scale;
  return baseLr;
}

}  // namespace graphc
