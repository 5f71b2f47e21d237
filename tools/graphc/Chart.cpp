// tools/graphc/Chart.cpp — see Chart.h.
#include "tools/graphc/Chart.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <fmt/format.h>

namespace graphc::cli {
namespace {

constexpr double kWidth = 720, kHeight = 440, kLeft = 72, kRight = 24, kTop = 44, kBottom = 56;
constexpr double kMinLabelGap = 18;  // pixels between y tick labels (12 px text)
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string escapeXml(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string number(double v) {
  if (v != 0 && (std::fabs(v) >= 1e6 || std::fabs(v) < 1e-3)) return fmt::format("{:.0e}", v);
  return fmt::format("{:g}", v);
}

// Candidate ticks in [lo, hi], densest first: 1-2-5 steps (for a log axis: on
// the decades, then 1/2/5, then 1.1, 1.2, 1.5 ...). Chosen by the caller so
// that no two labels come closer than kMinLabelGap.
std::vector<double> niceLinearTicks(double lo, double hi, int maxTicks) {
  double span = hi - lo, step = std::pow(10, std::floor(std::log10(span / std::max(1, maxTicks))));
  for (double m : {1.0, 2.0, 5.0, 10.0, 20.0, 50.0}) {
    if (span / (step * m) <= maxTicks) {
      step *= m;
      break;
    }
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

std::vector<double> logCandidates(double lo, double hi) {
  std::vector<double> out;
  for (int decade = int(std::floor(std::log10(lo))) - 1; decade <= int(std::ceil(std::log10(hi))); ++decade)
    for (double m : {1.0, 1.1, 1.2, 1.5, 2.0, 3.0, 5.0, 7.0})
      out.push_back(m * std::pow(10, decade));
  return out;
}

// The width in pixels of `text` at 12 px sans-serif, from the widths of
// Helvetica/Arial (which DejaVu Sans exceeds by under 10%): narrow letters
// and punctuation, capitals and m/w, digits, the rest; a UTF-8 character
// counts once.
double textWidth(const std::string& text) {
  double em = 0;
  for (unsigned char c : text) {
    if ((c & 0xc0) == 0x80) continue;  // a UTF-8 continuation byte
    if (std::string_view("iljtf.,:;!|'()[] ").find(char(c)) != std::string_view::npos) em += 0.3;
    else if (c == 'm' || c == 'w' || c == 'M' || c == 'W') em += 0.85;
    else if (c >= 'A' && c <= 'Z') em += 0.68;
    else if (c >= '0' && c <= '9') em += 0.56;
    else em += 0.55;
  }
  return 12 * em * 1.1;  // the 10% for DejaVu
}

// How many points of the curves fall in the rectangle (each segment sampled every 3 px).
int pointsInside(const std::vector<std::vector<std::pair<double, double>>>& curves, double x0, double y0, double w, double h) {
  int inside = 0;
  for (const auto& curve : curves)
    for (size_t i = 0; i < curve.size(); ++i) {
      auto [ax, ay] = curve[i];
      auto [bx, by] = i + 1 < curve.size() ? curve[i + 1] : curve[i];
      int samples = std::max(1, int(std::hypot(bx - ax, by - ay) / 3));
      for (int k = 0; k < samples; ++k) {
        double t = double(k) / samples, x = ax + t * (bx - ax), y = ay + t * (by - ay);
        inside += x >= x0 && x <= x0 + w && y >= y0 && y <= y0 + h;
      }
    }
  return inside;
}

}  // namespace

std::string svgChart(const ChartSpec& spec) {
  const double plotW = kWidth - kLeft - kRight, plotH = kHeight - kTop - kBottom;
  double xLo = INFINITY, xHi = -INFINITY, yLo = INFINITY, yHi = -INFINITY;
  for (const Series& s : spec.series)
    for (auto [x, y] : s.points) {
      if (!std::isfinite(y) || !std::isfinite(x) || (spec.logY && y <= 0)) continue;
      xLo = std::min(xLo, x), xHi = std::max(xHi, x), yLo = std::min(yLo, y), yHi = std::max(yHi, y);
    }
  if (!std::isfinite(xLo)) xLo = 0, xHi = 1, yLo = 1, yHi = 2;
  if (xHi <= xLo) xHi = xLo + 1;
  auto ty = [&](double v) { return spec.logY ? std::log10(v) : v; };
  double tLo = ty(yLo), tHi = ty(yHi);
  double pad = std::max((tHi - tLo) * 0.05, spec.logY ? 0.02 : std::max(1e-9, std::fabs(tHi) * 0.05));
  tLo -= pad, tHi += pad;
  if (!spec.logY && yLo >= 0 && tLo < 0) tLo = 0;
  auto px = [&](double x) { return kLeft + plotW * (x - xLo) / (xHi - xLo); };
  auto py = [&](double y) { return kTop + plotH * (1 - (ty(y) - tLo) / (tHi - tLo)); };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      kWidth, kHeight);
  svg += fmt::format("<text x=\"{}\" y=\"26\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n", kWidth / 2,
                     escapeXml(spec.title));
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", kLeft, kTop,
                     plotW, plotH);
  // y ticks: from the candidates, keep one only if it is far enough from the last kept.
  std::vector<double> candidates = spec.logY ? logCandidates(std::pow(10, tLo), std::pow(10, tHi))
                                             : niceLinearTicks(tLo, tHi, int(plotH / (kMinLabelGap * 2)));
  double lastY = INFINITY;
  for (double v : candidates) {
    if (ty(v) < tLo || ty(v) > tHi || (spec.logY && v <= 0)) continue;
    double y = py(v);
    if (std::fabs(lastY - y) < kMinLabelGap) continue;
    lastY = y;
    svg += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>"
                       "<text class=\"ytick\" x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
                       kLeft, kLeft + plotW, y, kLeft - 6, y + 4, number(v));
  }
  // x ticks: the data's first and last x, and between them a 1-2-5 step, labels at least 60 px apart.
  std::vector<double> xTicks = {xLo};
  for (double v : niceLinearTicks(xLo, xHi, std::max(2, int(plotW / 60))))
    if (px(v) - px(xTicks.back()) >= 60 && px(xHi) - px(v) >= 60) xTicks.push_back(v);
  if (xHi > xLo) xTicks.push_back(xHi);
  for (double v : xTicks)
    svg += fmt::format("<text class=\"xtick\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(v),
                       kTop + plotH + 18, number(v));
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + plotW / 2, kHeight - 14,
                     escapeXml(spec.xLabel));
  svg += fmt::format("<text x=\"18\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {0})\">{1}{2}</text>\n",
                     kTop + plotH / 2, escapeXml(spec.yLabel), spec.logY ? " (log scale)" : "");
  std::vector<std::vector<std::pair<double, double>>> drawn;  // each curve's points in pixels
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const Series& s = spec.series[i];
    std::string points;
    drawn.emplace_back();
    for (auto [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y) && (!spec.logY || y > 0)) {
        points += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
        drawn.back().push_back({px(x), py(y)});
      }
    const char* color = kColors[i % std::size(kColors)];
    svg += fmt::format("<polyline class=\"series\" data-label=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} "
                       "points=\"{}\"/>\n",
                       escapeXml(s.label), color, s.dashed ? " stroke-dasharray=\"6 4\"" : "", points);
  }
  // The legend, when there is something to tell apart: as wide as its
  // longest label, in the corner of the plot its box covers the least of the
  // curves (top right, top left, bottom right, bottom left on a tie).
  if (spec.series.size() > 1 || (spec.series.size() == 1 && !spec.series[0].label.empty())) {
    double longest = 0;
    for (const Series& s : spec.series) longest = std::max(longest, textWidth(s.label));
    double w = 38 + longest, h = 8 + 18.0 * double(spec.series.size());
    double x0 = 0, y0 = 0;
    int covered = INT32_MAX;
    for (auto [cx, cy] : {std::pair{kLeft + plotW - w - 8, kTop + 8}, {kLeft + 8, kTop + 8},
                          {kLeft + plotW - w - 8, kTop + plotH - h - 8}, {kLeft + 8, kTop + plotH - h - 8}}) {
      int here = pointsInside(drawn, cx, cy, w, h);
      if (here < covered) covered = here, x0 = cx, y0 = cy;
    }
    svg += fmt::format("<g class=\"legend\"><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
                       "fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n",
                       x0, y0, w, h);
    for (size_t i = 0; i < spec.series.size(); ++i) {
      double y = y0 + 16 + 18.0 * double(i);
      svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"{}/>"
                         "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
                         x0 + 6, x0 + 26, y - 4, y - 4, kColors[i % std::size(kColors)],
                         spec.series[i].dashed ? " stroke-dasharray=\"6 4\"" : "", x0 + 30, y, escapeXml(spec.series[i].label));
    }
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace graphc::cli
