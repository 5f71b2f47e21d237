// tools/graphc/Report.cpp — CSV and a dependency-free SVG line chart.
#include "tools/graphc/Report.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sstream>

#include "graph/Error.h"
#include "graph/FileIO.h"
#include "tools/graphc/Chart.h"

namespace graphc::cli {

std::string metricsCsv(const std::vector<EpochReport>& epochs, double learningRate) {
  bool validated = std::any_of(epochs.begin(), epochs.end(), [](const EpochReport& e) { return std::isfinite(e.valPerplexity); });
  bool estimated = std::any_of(epochs.begin(), epochs.end(), [](const EpochReport& e) { return std::isfinite(e.valEstimateLoss); });
  std::string out = "epoch,perplexity,loss,grad_norm,lr,tokens_per_sec,seconds";
  out += validated ? ",val_perplexity" : "";
  out += estimated ? ",val_estimate_loss\n" : "\n";
  // Epochs restored from a checkpoint have no wall-clock numbers: empty fields.
  auto maybe = [](double v, int digits) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : std::string(); };
  for (const auto& e : epochs) {
    out += fmt::format("{},{:.6f},{:.6f},{},{},{},{}", e.epoch, e.perplexity, std::log(e.perplexity), maybe(e.gradNorm, 6),
                       std::isfinite(e.learningRate) ? e.learningRate : learningRate, maybe(e.tokensPerSec, 1),
                       maybe(e.seconds, 3));
    out += validated ? "," + maybe(e.valPerplexity, 6) : "";
    out += estimated ? "," + maybe(e.valEstimateLoss, 6) + "\n" : "\n";
  }
  return out;
}

void restoreWallClock(std::vector<EpochReport>& epochs, const std::string& csv) {
  std::istringstream lines(csv);
  std::string line;
  auto fields = [](const std::string& l) {
    std::vector<std::string> out;
    std::istringstream in(l);
    for (std::string f; std::getline(in, f, ',');) out.push_back(f);
    return out;
  };
  if (!std::getline(lines, line)) return;
  std::vector<std::string> header = fields(line);
  auto column = [&](const char* name) { return std::find(header.begin(), header.end(), name) - header.begin(); };
  const size_t epochCol = size_t(column("epoch")), pplCol = size_t(column("perplexity")),
               speedCol = size_t(column("tokens_per_sec")), secondsCol = size_t(column("seconds"));
  if (std::max({epochCol, pplCol, speedCol, secondsCol}) >= header.size()) return;
  while (std::getline(lines, line)) {
    std::vector<std::string> row = fields(line);
    if (row.size() < header.size()) continue;
    char* end = nullptr;
    long long epoch = std::strtoll(row[epochCol].c_str(), &end, 10);
    if (*end != '\0' || epoch < 1 || epoch > int64_t(epochs.size())) continue;
    EpochReport& e = epochs[size_t(epoch - 1)];
    if (row[pplCol] != fmt::format("{:.6f}", e.perplexity)) continue;  // another run's row
    double speed = std::strtod(row[speedCol].c_str(), &end);
    if (*end == '\0' && !row[speedCol].empty()) e.tokensPerSec = speed;
    double seconds = std::strtod(row[secondsCol].c_str(), &end);
    if (*end == '\0' && !row[secondsCol].empty()) e.seconds = seconds;
  }
}

std::string perplexitySvg(const std::vector<EpochReport>& epochs, const std::string& title) {
  ChartSpec chart;
  chart.title = title;
  chart.xLabel = "epoch";
  chart.yLabel = "perplexity";
  chart.logY = true;
  Series train{"training perplexity", {}, false};
  Series validation{"validation perplexity", {}, true};
  for (const auto& e : epochs) {
    train.points.push_back({double(e.epoch), e.perplexity});
    if (std::isfinite(e.valPerplexity)) validation.points.push_back({double(e.epoch), e.valPerplexity});
  }
  chart.series.push_back(std::move(train));
  if (!validation.points.empty()) chart.series.push_back(std::move(validation));
  return svgChart(chart);
}

std::vector<double> MetricsTable::column(const std::string& name, const std::string& path) const {
  auto it = std::find(columns.begin(), columns.end(), name);
  if (it == columns.end())
    throw Error(fmt::format("{}: error: no column '{}' (it has: {})", path, name, fmt::join(columns, ", ")));
  std::vector<double> values;
  for (const auto& row : rows) values.push_back(row[size_t(it - columns.begin())]);
  return values;
}

MetricsTable readMetricsCsv(const std::string& path) {
  std::string text = readFileBounded(path, uint64_t(64) << 20, "the metrics file");
  MetricsTable t;
  std::istringstream in(text);
  std::string line;
  int lineNo = 0;
  auto split = [](const std::string& l) {
    std::vector<std::string> fields;
    size_t start = 0;
    for (size_t comma; (comma = l.find(',', start)) != std::string::npos; start = comma + 1) fields.push_back(l.substr(start, comma - start));
    fields.push_back(l.substr(start));
    return fields;
  };
  while (std::getline(in, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> fields = split(line);
    if (t.columns.empty()) {
      t.columns = fields;
      if (std::find(t.columns.begin(), t.columns.end(), "epoch") == t.columns.end())
        throw Error(fmt::format("{}:{}: error: the header has no 'epoch' column (not a `graphc train --metrics` file?)",
                                path, lineNo));
      continue;
    }
    if (fields.size() != t.columns.size())
      throw Error(fmt::format("{}:{}: error: {} fields, the header has {}", path, lineNo, fields.size(), t.columns.size()));
    std::vector<double> row;
    for (size_t k = 0; k < fields.size(); ++k) {
      if (fields[k].empty()) {
        row.push_back(NAN);
        continue;
      }
      char* end = nullptr;
      double v = std::strtod(fields[k].c_str(), &end);
      if (*end != '\0')
        throw Error(fmt::format("{}:{}: error: '{}' in column '{}' is not a number", path, lineNo,
                                escapeForMessage(fields[k]), t.columns[k]));
      row.push_back(v);
    }
    t.rows.push_back(std::move(row));
  }
  if (t.columns.empty()) throw Error(fmt::format("{}: error: empty metrics file", path));
  return t;
}

}  // namespace graphc::cli
