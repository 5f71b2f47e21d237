// tools/graphc/PlotCommand.cpp — `graphc plot A.csv B.csv -o FILE.svg`:
// several runs' metrics (`graphc train --metrics`) on one chart with a legend.
#include <filesystem>
#include <fmt/format.h>
#include <memory>

#include "tools/graphc/Chart.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/Report.h"

namespace graphc::cli {
namespace {

struct PlotFlags {
  std::vector<std::string> inputs;
  std::vector<std::string> labels;
  std::string output;
  std::string y = "perplexity";
  std::string title;
  bool linear = false;
};

void runPlot(const PlotFlags& f) {
  if (f.inputs.empty()) throw Error("graphc plot: error: give one or more metrics CSV files (from `graphc train --metrics`)");
  if (f.output.empty()) throw Error("graphc plot: error: -o FILE.svg is required");
  if (!f.labels.empty() && f.labels.size() != f.inputs.size())
    throw Error(fmt::format("graphc plot: error: {} --label for {} files; give one per file or none", f.labels.size(),
                            f.inputs.size()));
  ChartSpec chart;
  chart.xLabel = "epoch";
  chart.yLabel = f.y;
  // Perplexities span orders of magnitude; speeds and norms read better on a linear axis.
  chart.logY = !f.linear && (f.y == "perplexity" || f.y == "loss" || f.y == "val_perplexity");
  chart.title = f.title.empty() ? fmt::format("{} against epoch", f.y) : f.title;
  for (size_t i = 0; i < f.inputs.size(); ++i) {
    MetricsTable t = readMetricsCsv(f.inputs[i]);
    std::vector<double> x = t.column("epoch", f.inputs[i]), y = t.column(f.y, f.inputs[i]);
    Series s;
    s.label = f.labels.empty() ? std::filesystem::path(f.inputs[i]).stem().string() : f.labels[i];
    for (size_t k = 0; k < x.size(); ++k) s.points.push_back({x[k], y[k]});
    chart.series.push_back(std::move(s));
  }
  writeOutput(f.output, svgChart(chart));
}

}  // namespace

void addPlotCommand(CLI::App& app) {
  auto f = std::make_shared<PlotFlags>();
  CLI::App* cmd = app.add_subcommand("plot", "Draw several runs' metrics (train --metrics CSVs) on one SVG chart");
  cmd->add_option("inputs", f->inputs, "Metrics CSV files, one curve each");
  cmd->add_option("-o,--output", f->output, "The SVG file to write");
  cmd->add_option("--y", f->y, "The column to draw: perplexity, loss, grad_norm, lr, tokens_per_sec, seconds, ...")
      ->capture_default_str();
  cmd->add_option("--label", f->labels, "A legend label per file, in order (default: the file names)");
  cmd->add_option("--title", f->title, "The chart's title (default: '<column> against epoch')");
  cmd->add_flag("--linear", f->linear, "A linear y axis even for perplexity and loss");
  cmd->callback([f] { runPlot(*f); });
}

}  // namespace graphc::cli
