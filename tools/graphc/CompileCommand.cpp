// tools/graphc/CompileCommand.cpp — `graphc compile`: build a model's graph,
// run the pipeline, print the IR.
#include <iostream>
#include <memory>

#include "graph/TextIR.h"
#include "graph/Verifier.h"
#include "models/Model.h"
#include "passes/PassManager.h"
#include "tools/graphc/Commands.h"

namespace graphc::cli {
namespace {

struct CompileOptions {
  std::string model = "rnn-scratch";
  ModelConfig config;
  std::string emit = "ir";
  std::string passes = "simplify";
  std::vector<std::string> printBefore, printAfter;
  bool timePasses = false;
  std::string output = "-";
};

void runCompile(const CompileOptions& o) {
  Graph g = buildModelGraph(findModel(o.model), o.config);
  verify(g);
  PassManagerOptions pmo;
  pmo.printBefore = o.printBefore;
  pmo.printAfter = o.printAfter;
  PassManager pm(pmo);
  pm.addPipeline(o.passes);
  pm.run(g);
  if (o.timePasses) pm.printTimings(std::cerr);
  writeOutput(o.output, printGraph(g));
}

}  // namespace

void addCompileCommand(CLI::App& app) {
  auto o = std::make_shared<CompileOptions>();
  CLI::App* cmd = app.add_subcommand("compile", "Build a model's graph, run the compiler passes and print the result");
  cmd->add_option("--model", o->model, "Model to compile")->capture_default_str();
  cmd->add_option("--batch-size", o->config.batchSize, "Minibatch size")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  cmd->add_option("--num-steps", o->config.numSteps, "Time steps unrolled per minibatch")->check(CLI::Range(1, 1 << 16))->capture_default_str();
  cmd->add_option("--hidden", o->config.hidden, "Hidden units")->check(CLI::Range(1, 1 << 16))->capture_default_str();
  cmd->add_option("--vocab", o->config.vocab, "Vocabulary size")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  cmd->add_option("--emit", o->emit, "What to print: ir")->check(CLI::IsMember({"ir"}))->capture_default_str();
  cmd->add_option("--passes", o->passes, "Comma-separated pass pipeline (empty: none)")->capture_default_str();
  cmd->add_option("--print-before", o->printBefore, "Print the IR to stderr before this pass (or 'all')");
  cmd->add_option("--print-after", o->printAfter, "Print the IR to stderr after this pass (or 'all')");
  cmd->add_flag("--time-passes", o->timePasses, "Report the time each pass took on stderr");
  cmd->add_option("-o,--output", o->output, "Output file ('-' for stdout)")->capture_default_str();
  cmd->callback([o] { runCompile(*o); });
}

}  // namespace graphc::cli
