// tools/graphc/Commands.h — each subcommand registers itself on the CLI app.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace graphc::cli {

void addCompileCommand(CLI::App& app);
void addOptCommand(CLI::App& app);
void addTrainCommand(CLI::App& app);
void addGenerateCommand(CLI::App& app);
void addModelsCommand(CLI::App& app);

// Writes `text` to `path` ("-" = stdout) through a temporary file and a
// rename, so a failure never leaves a partial file behind.
void writeOutput(const std::string& path, const std::string& text);

}  // namespace graphc::cli
