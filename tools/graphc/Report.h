// tools/graphc/Report.h — training metrics as CSV and as an SVG chart.
#pragma once

#include <string>
#include <vector>

#include "runtime/Trainer.h"

namespace graphc::cli {

std::string metricsCsv(const std::vector<EpochReport>& epochs);
// Perplexity against epoch, log-scaled y axis.
std::string perplexitySvg(const std::vector<EpochReport>& epochs, const std::string& title);

}  // namespace graphc::cli
