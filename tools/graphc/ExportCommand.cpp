// tools/graphc/ExportCommand.cpp — `graphc export`: a trained model as a C
// library (runtime/Export.h).
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <unistd.h>

#include "runtime/Checkpoint.h"
#include "runtime/Export.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/Plugins.h"
#include "tools/graphc/Progress.h"
#include "tools/graphc/Shared.h"

namespace graphc::cli {
namespace {

struct ExportFlags {
  std::string load;
  std::string model;
  std::vector<std::string> modelLibs;
  ExportOptions options;
};

void runExport(ExportFlags f) {
  for (const auto& lib : f.modelLibs) loadModelLibrary(lib);
  if (f.load.empty()) throw Error("graphc export: error: --load PATH is required (a checkpoint from `graphc train --save`)");
  checkLibraryName(f.options.name);  // before the checkpoint is read
  auto [ckpt, info, model] = loadTrainedModel(f.load, f.model);
  // The exported C API encodes and decodes characters; words would need a tokenizer in it.
  if (info.vocab.words())
    throw Error(fmt::format("{}: error: a word-level model (--text words) cannot be exported yet: the exported library "
                            "reads and writes characters; use `graphc generate --load` for it",
                            f.load));
  f.options.source = f.load;
  std::vector<std::string> files;
  StageProgress progress(isatty(STDERR_FILENO) != 0, "export");
  f.options.onStage = [&](const std::string& stage) { progress.stage(stage); };
  try {
    files = exportLibrary(*model, info.config, ckpt.tensors, info.vocab, f.options);
    progress.clear();
  } catch (const Error& e) {
    progress.clear();
    std::string what = e.what();
    // Params that do not fit the model name the checkpoint; other errors name their own place.
    if (what.find("parameter") != std::string::npos || what.find("the parameters") != std::string::npos)
      throw Error(fmt::format("{}: error: {}", f.load, what));
    throw;
  }
  for (const auto& file : files) std::cout << file << "\n";
}

}  // namespace

void addExportCommand(CLI::App& app) {
  auto f = std::make_shared<ExportFlags>();
  CLI::App* cmd = app.add_subcommand(
      "export", "Write a trained model as a static C library (libNAME.a, NAME.h, example.c) needing only libc and libm");
  cmd->add_option("--load", f->load, "Checkpoint written by `graphc train --save`");
  cmd->add_option("-o,--output", f->options.dir, "Directory to write the library into (created if missing)");
  cmd->add_option("--name", f->options.name, "Name of the library and prefix of its C functions (a C identifier)")
      ->capture_default_str();
  cmd->add_option("--target-cpu", f->options.targetCpu,
                  "CPU to build for: host, or any LLVM CPU name (x86-64-v2: SSE4.2 and POPCNT, any x86-64 of the last 15 years; znver3, "
                  "sapphirerapids, ...); the library refuses a CPU without its features")
      ->capture_default_str();
  cmd->add_option("--model", f->model, "Expected model (default: the checkpoint's)");
  cmd->add_flag("--shared", f->options.sharedLibrary,
                "Also write libNAME.so, linked by the system's C compiler driver (cc, or $CC)");
  cmd->add_flag("--weights-file", f->options.weightsFile,
                "Write the weights to NAME.weights beside the library instead of into it (mapped by NAME_load_weights; "
                "a retrained model is a new file, not a relink)");
  addModelLibFlag(cmd, f->modelLibs);
  cmd->callback([f] {
    if (f->options.dir.empty()) throw Error("graphc export: error: -o DIR is required");
    runExport(*f);
  });
}

}  // namespace graphc::cli
