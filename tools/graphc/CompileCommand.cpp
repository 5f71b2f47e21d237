// tools/graphc/CompileCommand.cpp — `graphc compile`: build a model's training
// step (or forward graph), run the pipeline, emit IR, LLVM IR, assembly or an object.
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <unistd.h>

#include "codegen/Jit.h"
#include "graph/Analysis.h"
#include "graph/Dot.h"
#include "graph/TextIR.h"
#include "graph/Verifier.h"
#include "models/Model.h"
#include "passes/PassManager.h"
#include "driver/Pipeline.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/ModelFlags.h"
#include "tools/graphc/Progress.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {
namespace {

struct CompileOptions : ModelFlags {
  std::string graph = "train";
  OptimizerConfig optimizer;
  std::string emit = "ir";
  std::string passes;
  bool passesGiven = false;  // without --passes: what `graphc train` runs (driver/Pipeline.h); --passes "": none
  std::string targetCpu = "host";
  bool noReroll = false;
  std::vector<std::string> printBefore, printAfter;
  bool timePasses = false;
  bool expand = false;
  bool stats = false;
  std::string output = "-";
  std::string cacheDir;
};

void runCompile(CompileOptions o) {
  const ModelDef& model = resolveModel(o);
  PipelineConfig pipeline;
  pipeline.trainingStep = o.graph == "train";
  pipeline.optimizer = o.optimizer;
  pipeline.target = targetFor(o.targetCpu);
  validate(pipeline.optimizer);
  if (o.graph == "step") o.config.numSteps = 1;
  Graph g = o.graph == "step" ? buildStepGraph(model, o.config) : buildModelGraph(model, o.config);
  verify(g);
  // Progress on a terminal; not beside IR printed to the same stream.
  bool printing = !o.printBefore.empty() || !o.printAfter.empty();
  StageProgress progress(isatty(STDERR_FILENO) != 0 && !printing, "compile");
  PassManagerOptions pmo;
  pmo.printBefore = o.printBefore;
  pmo.printAfter = o.printAfter;
  pmo.beforePass = [&](const std::string& pass, size_t i, size_t n) { progress.stage("pass " + pass, i, n); };
  DotOptions dot{!o.expand};
  if (o.emit == "dot") pmo.printer = [dot](const Graph& graph) { return dotPicture(graph, dot); };
  PassManager pm(pmo);
  if (o.passesGiven) {
    pm.addPipeline(o.passes);
  } else {
    pm.add(optimizePasses(pipeline));
    pm.add(lowerPasses(pipeline.target));
  }
  pm.run(g);
  bool planned = g.attrs.count("arena_bytes") != 0;
  // Machine code needs fused kernels and arena offsets.
  if (o.emit != "ir" && o.emit != "dot" && !planned) {
    PassManagerOptions lowering;
    lowering.beforePass = [&](const std::string& pass, size_t i, size_t n) { progress.stage("lowering: pass " + pass, i, n); };
    g = lowerGraph(std::move(g), pipeline.target, lowering);
  }
  if (o.emit != "ir" && o.emit != "dot") progress.stage("LLVM code generation");
  else progress.stage("printing");
  const Target& target = pipeline.target;
  CodegenOptions codegen{!o.noReroll};
  if (o.emit == "ir") writeOutput(o.output, printGraph(g));
  else if (o.emit == "dot") writeOutput(o.output, dotPicture(g, dot));
  else if (o.emit == "llvm") writeOutput(o.output, emitCode(g, EmitKind::LlvmIr, target, codegen));
  else if (o.emit == "llvm-opt") writeOutput(o.output, emitCode(g, EmitKind::OptimizedLlvmIr, target, codegen));
  else if (o.emit == "asm") writeOutput(o.output, emitCode(g, EmitKind::Assembly, target, codegen));
  else {
    if (o.output == "-") throw Error("--emit obj: pass -o FILE (object code is not written to a terminal)");
    writeOutput(o.output, emitCode(g, EmitKind::Object, target, codegen));
  }
  progress.clear();
  if (o.timePasses) pm.printTimings(std::cerr);
  if (o.stats) {
    CompileReport report;
    // Compiling (and timing) needs code that runs here; for another CPU the stats are the graph's.
    if (g.attrs.count("arena_bytes") && runsOnHost(target))
      CompiledGraph::compile(g, {o.cacheDir, true, target, codegen}, &report);
    std::cerr << "target: " << target.describe() << "\n";
    std::cerr << statsText(g, pm.timings(), report);
  }
}

}  // namespace

void addCompileCommand(CLI::App& app) {
  auto o = std::make_shared<CompileOptions>();
  CLI::App* cmd = app.add_subcommand("compile", "Build a model's graph, run the compiler passes, emit the result");
  addModelFlags(cmd, *o, {"Model to compile (see `graphc models`)", ""});
  cmd->add_option("--graph", o->graph, "train: the whole training step; forward: logits and loss only; step: one generation step (logits of X [batch, 1])")
      ->check(CLI::IsMember({"train", "forward", "step"}))
      ->capture_default_str();
  cmd->add_option("--vocab", o->config.vocab, "Vocabulary size")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  addOptimizerFlags(cmd, o->optimizer);
  cmd->add_option("--emit", o->emit,
                  "What to write: ir, dot (a Graphviz picture of the IR; --print-after too), llvm, llvm-opt (after "
                  "LLVM's optimizer), asm, obj")
      ->check(CLI::IsMember({"ir", "dot", "llvm", "llvm-opt", "asm", "obj"}))
      ->capture_default_str();
  cmd->add_option("--passes", o->passes,
                  "Comma-separated pass pipeline, options in braces (see `graphc opt --list-passes`; default: what "
                  "`graphc train` runs, e.g. train-step{optimizer=sgd,lr=1,clip=1},simplify,...,"
                  "pack-weights{panel-width=W},share-concats,fuse,plan; \"\": none, the graph as the model builds it)");
  cmd->add_option("--target-cpu", o->targetCpu,
                  "CPU to generate code for: host, or any LLVM CPU name (znver3, sapphirerapids, x86-64-v3, ...)")
      ->capture_default_str();
  cmd->add_option("--print-before", o->printBefore, "Print the IR to stderr before this pass (or 'all')");
  cmd->add_option("--print-after", o->printAfter, "Print the IR to stderr after this pass (or 'all')");
  cmd->add_flag("--no-reroll", o->noReroll,
                "Keep one call per node in the entry function (no loops over the time steps), for comparison");
  cmd->add_flag("--expand", o->expand,
                "With --emit dot: draw every node (by default repeated structure, the unrolled time steps, is drawn once with its count); "
                "refused past 500 edges, which Graphviz takes minutes to lay out");
  cmd->add_flag("--time-passes", o->timePasses, "Report the time each pass took on stderr");
  cmd->add_flag("--stats", o->stats, "Print kernels, arena bytes, FLOPs per step and compile seconds on stderr");
  cmd->add_option("--cache-dir", o->cacheDir, "Compiled-object cache for --stats (default: ~/.cache/graphc)");
  cmd->add_option("-o,--output", o->output, "Output file ('-' for stdout)")->capture_default_str();
  cmd->callback([o, cmd] {
    o->passesGiven = cmd->count("--passes") > 0;
    runCompile(*o);
  });
}

}  // namespace graphc::cli
