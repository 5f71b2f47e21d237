// tools/graphc/OptCommand.cpp — `graphc opt`: parse IR, run passes, print IR.
#include <fmt/format.h>
#include <iostream>
#include <memory>

#include "driver/Pipeline.h"
#include "graph/Dot.h"
#include "graph/TextIR.h"
#include "passes/PassManager.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {
namespace {

struct OptOptions {
  std::string input;
  std::string passes;
  std::vector<std::string> printBefore, printAfter;
  bool timePasses = false;
  bool listPasses = false;
  std::string emit = "ir";
  bool expand = false;
  std::string output = "-";
};

void runOpt(const OptOptions& o) {
  if (o.listPasses) {
    for (const auto& p : listPasses())
      std::cout << p.name << (p.options.empty() ? "" : "{" + fmt::format("{}", fmt::join(p.options, ",")) + "}")
                << "\t" << p.description << "\n";
    return;
  }
  if (o.input.empty()) throw Error("graphc opt: error: missing the input file (a path, or - for stdin)");
  PassManagerOptions pmo;
  pmo.printBefore = o.printBefore;
  pmo.printAfter = o.printAfter;
  DotOptions dot{!o.expand};
  if (o.emit == "dot") pmo.printer = [dot](const Graph& graph) { return dotPicture(graph, dot); };
  PassManager pm(pmo);
  pm.addPipeline(o.passes);  // unknown pass names fail before reading input
  Graph g = readGraphFile(o.input);
  pm.run(g);
  if (o.timePasses) pm.printTimings(std::cerr);
  writeOutput(o.output, o.emit == "dot" ? dotPicture(g, dot) : printGraph(g));
}

}  // namespace

void addOptCommand(CLI::App& app) {
  auto o = std::make_shared<OptOptions>();
  CLI::App* cmd = app.add_subcommand("opt", "Parse textual IR, run passes, print the IR");
  cmd->add_option("input", o->input, "IR file, or - for stdin");
  cmd->add_option("--passes", o->passes, "Comma-separated pass pipeline, e.g. dce,cse (see --list-passes)");
  cmd->add_flag("--list-passes", o->listPasses, "List the available passes and exit");
  cmd->add_option("--print-before", o->printBefore, "Print the IR to stderr before this pass (or 'all')");
  cmd->add_option("--print-after", o->printAfter, "Print the IR to stderr after this pass (or 'all')");
  cmd->add_option("--emit", o->emit, "What to write: ir, or dot (a Graphviz picture; --print-after too)")
      ->check(CLI::IsMember({"ir", "dot"}))
      ->capture_default_str();
  cmd->add_flag("--expand", o->expand,
                "With --emit dot: draw every node (by default repeated structure, the unrolled time steps, is drawn once with its count); "
                "refused past 500 edges, which Graphviz takes minutes to lay out");
  cmd->add_flag("--time-passes", o->timePasses, "Report the time each pass took on stderr");
  cmd->add_option("-o,--output", o->output, "Output file ('-' for stdout)")->capture_default_str();
  cmd->callback([o] { runOpt(*o); });
}

}  // namespace graphc::cli
