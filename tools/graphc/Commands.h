// tools/graphc/Commands.h — each subcommand registers itself on the CLI app.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "passes/TrainStep.h"

namespace graphc::cli {

void addCompileCommand(CLI::App& app);
void addOptCommand(CLI::App& app);
void addTrainCommand(CLI::App& app);
void addGenerateCommand(CLI::App& app);
void addEvalCommand(CLI::App& app);
void addModelsCommand(CLI::App& app);
void addExportCommand(CLI::App& app);
void addHelpCommand(CLI::App& app);
void addPlotCommand(CLI::App& app);

// The flags train and generate share: --engine and --cache-dir.
// --engine, --cache-dir and --target-cpu (the JIT's CPU; it must run on this one).
void addEngineFlags(CLI::App* cmd, std::string& engine, std::string& cacheDir, std::string& targetCpu);
// The training step's update rule, for train and compile alike: --optimizer,
// --lr, --clip, --momentum, --weight-decay.
void addOptimizerFlags(CLI::App* cmd, OptimizerConfig& optimizer);
// --model-lib PATH (repeatable), for every command that takes --model.
void addModelLibFlag(CLI::App* cmd, std::vector<std::string>& libs);

// Validators that read the flag's text itself, before CLI11 converts it: a
// whole number in [lo, hi] with nothing after it (no silent wrap past 2^63),
// and a finite number in [lo, hi] (no nan, no inf).
CLI::Validator wholeNumber(uint64_t lo, uint64_t hi);
CLI::Validator finiteNumber(double lo, double hi);

// Writes `text` to `path` ("-" = stdout) through a temporary file and a
// rename, so a failure never leaves a partial file behind.
void writeOutput(const std::string& path, const std::string& text);
// Fails now when writeOutput could not write `path` later ("-" always can).
void checkOutputWritable(const std::string& path, const std::string& what);

}  // namespace graphc::cli
