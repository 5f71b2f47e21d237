// tools/graphc/Report.h — training metrics as CSV and as an SVG chart.
#pragma once

#include <string>
#include <vector>

#include "runtime/Trainer.h"

namespace graphc::cli {

// epoch,perplexity,loss,grad_norm,lr,tokens_per_sec,seconds (fields a
// resumed run does not know, such as an old epoch's speed, are empty).
std::string metricsCsv(const std::vector<EpochReport>& epochs, double learningRate);
// A resumed run's earlier epochs take their wall-clock columns (tokens_per_sec,
// seconds) from the metrics CSV it rewrites, row by row where the epoch and its
// perplexity match (the checkpoint keeps only what repeats bit for bit).
void restoreWallClock(std::vector<EpochReport>& epochs, const std::string& csv);
// Perplexity against epoch, log-scaled y axis.
std::string perplexitySvg(const std::vector<EpochReport>& epochs, const std::string& title);

// A metrics CSV read back: its header's columns, by name, as numbers (NaN for empty fields).
struct MetricsTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;
  // The column's values, or throws naming the file and the columns it has.
  std::vector<double> column(const std::string& name, const std::string& path) const;
};
// Throws "PATH:LINE: error: ..." on a malformed file.
MetricsTable readMetricsCsv(const std::string& path);

}  // namespace graphc::cli
