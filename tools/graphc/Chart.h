// tools/graphc/Chart.h — line charts as dependency-free SVG: several series
// with a legend, a linear or log y axis, tick labels spaced so they never
// overlap. (`graphc train --plot` and `graphc plot`.)
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace graphc::cli {

struct Series {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite y are skipped
  bool dashed = false;
};

struct ChartSpec {
  std::string title, xLabel, yLabel;
  bool logY = false;
  std::vector<Series> series;
};

std::string svgChart(const ChartSpec& spec);

}  // namespace graphc::cli
