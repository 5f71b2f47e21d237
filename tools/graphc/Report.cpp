// tools/graphc/Report.cpp — CSV and a dependency-free SVG line chart.
#include "tools/graphc/Report.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace graphc::cli {

std::string metricsCsv(const std::vector<EpochReport>& epochs) {
  std::string out = "epoch,perplexity,tokens_per_sec,seconds\n";
  // Epochs restored from a checkpoint have no wall-clock numbers: empty fields.
  auto wall = [](double v, int digits) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : std::string(); };
  for (const auto& e : epochs)
    out += fmt::format("{},{:.6f},{},{}\n", e.epoch, e.perplexity, wall(e.tokensPerSec, 1), wall(e.seconds, 3));
  return out;
}

std::string perplexitySvg(const std::vector<EpochReport>& epochs, const std::string& title) {
  const double W = 640, H = 400, left = 70, right = 20, top = 40, bottom = 50;
  const double plotW = W - left - right, plotH = H - top - bottom;
  double maxEpoch = epochs.empty() ? 1 : double(epochs.back().epoch);
  double lo = 1, hi = 2;
  for (const auto& e : epochs) {
    lo = std::min(lo, e.perplexity);
    hi = std::max(hi, e.perplexity);
  }
  double logLo = std::floor(std::log10(std::max(lo, 1e-3)) * 4) / 4, logHi = std::ceil(std::log10(hi) * 4) / 4;
  if (logHi <= logLo) logHi = logLo + 0.25;
  auto x = [&](double epoch) { return left + plotW * (maxEpoch > 1 ? (epoch - 1) / (maxEpoch - 1) : 0.5); };
  auto y = [&](double ppl) { return top + plotH * (1 - (std::log10(ppl) - logLo) / (logHi - logLo)); };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H, W, H);
  svg += fmt::format("<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n", W / 2, title);
  // Axes, ticks and grid.
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", left, top,
                     plotW, plotH);
  for (double v : {1.0, 1.1, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0}) {
    double lv = std::log10(v);
    if (lv < logLo - 1e-9 || lv > logHi + 1e-9) continue;
    svg += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>"
                       "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
                       left, left + plotW, y(v), left - 6, y(v) + 4, v);
  }
  int64_t step = std::max<int64_t>(1, int64_t(std::pow(10, std::floor(std::log10(std::max(1.0, maxEpoch / 2))))));
  for (int64_t e = step; e <= int64_t(maxEpoch); e += step)
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x(double(e)), top + plotH + 18,
                       e);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">epoch</text>\n", left + plotW / 2, H - 10);
  svg += fmt::format("<text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">perplexity "
                     "(log scale)</text>\n",
                     top + plotH / 2, top + plotH / 2);
  std::string points;
  for (const auto& e : epochs) points += fmt::format("{:.1f},{:.1f} ", x(double(e.epoch)), y(e.perplexity));
  svg += fmt::format("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{}\"/>\n", points);
  svg += "</svg>\n";
  return svg;
}

}  // namespace graphc::cli
