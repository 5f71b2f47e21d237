// tools/graphc/main.cpp — the graphc driver: parses the command line and
// turns every error into one line on stderr and a non-zero exit.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <llvm/Config/llvm-config.h>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "graph/Error.h"
#include "graph/Version.h"
#include "graph/FileIO.h"
#include "runtime/Communicator.h"
#include "tools/graphc/Commands.h"
#include "target/Target.h"
#include "tools/graphc/Suggest.h"

namespace graphc::cli {

CLI::Validator wholeNumber(uint64_t lo, uint64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        uint64_t x = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() || x < lo || x > hi)
          return fmt::format("'{}' is not a whole number in {}..{}", escapeForMessage(text), lo, hi);
        return "";
      },
      fmt::format("UINT in [{} - {}]", lo, hi));
}

CLI::Validator finiteNumber(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        char* end = nullptr;
        double x = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(x) || x < lo || x > hi)
          return fmt::format("'{}' is not a finite number in {}..{}", escapeForMessage(text), lo, hi);
        return "";
      },
      fmt::format("FLOAT in [{} - {}]", lo, hi));
}

void writeOutput(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text << std::flush;
    return;
  }
  writeFileSafely(path, text, "the output");
}

void checkOutputWritable(const std::string& path, const std::string& what) {
  if (path != "-") checkWritable(path, what);
}

namespace {

std::vector<std::string> subcommandNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

// "graphc trian": the nearest subcommand, before CLI11 says only that one is required.
std::string unknownSubcommandMessage(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-' || argv[1][0] == '\0') return "";
  std::vector<std::string> names = subcommandNames(app);
  if (std::find(names.begin(), names.end(), argv[1]) != names.end()) return "";
  std::string guess = nearestWord(argv[1], names);
  return fmt::format("graphc: error: unknown command '{}'{} (commands: {}; see --help)", escapeForMessage(argv[1]),
                     guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess), fmt::join(names, ", "));
}

// An unknown flag: the nearest flag of the subcommand it was given to.
std::string flagSuggestion(const CLI::App& app, const CLI::ParseError& e) {
  const CLI::App* sub = app.get_subcommands().empty() ? &app : app.get_subcommands().front();
  std::vector<std::string> flags;
  for (const CLI::Option* o : sub->get_options())
    for (const std::string& name : o->get_lnames()) flags.push_back("--" + name);
  for (const std::string& extra : sub->remaining()) {
    if (extra.rfind("--", 0) != 0) continue;
    std::string guess = nearestWord(extra.substr(0, extra.find('=')), flags);
    if (!guess.empty()) return fmt::format("; did you mean '{}'?", guess);
  }
  (void)e;
  return "";
}

}  // namespace

// `graphc help [COMMAND]`: the same text as `graphc [COMMAND] --help`.
void addHelpCommand(CLI::App& app) {
  auto command = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("help", "Print the help of graphc or of one command (graphc help train)");
  cmd->add_option("command", *command, "The command whose help to print");
  cmd->callback([&app, command] {
    // The formatter directly: App::help() would print the selected subcommand's, i.e. help's.
    if (command->empty()) {
      std::cout << app.get_formatter()->make_help(&app, "graphc", CLI::AppFormatMode::Normal);
      return;
    }
    for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
      if (sub->get_name() == *command) {
        std::cout << sub->get_formatter()->make_help(sub, "graphc " + *command, CLI::AppFormatMode::Normal);
        return;
      }
    std::string guess = nearestWord(*command, subcommandNames(app));
    throw Error(fmt::format("graphc help: error: unknown command '{}'{}", escapeForMessage(*command),
                            guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess)));
  });
}

// `graphc --version`: what a bug report needs — the build, LLVM, the host as
// code generation sees it, and whether data parallelism is built in.
std::string versionText() {
  const graphc::Target& host = graphc::hostTarget();
  return fmt::format("graphc {} ({} build)\nLLVM {}\nhost CPU {} ({}; {}-bit vectors{}, {} usable CPU{})\nMPI: {}",
                     GRAPHC_VERSION, GRAPHC_BUILD_TYPE, LLVM_VERSION_STRING, host.cpu, host.triple, host.vectorBits,
                     host.hasFma ? ", FMA" : "", host.cores, host.cores == 1 ? "" : "s",
                     graphc::builtWithMpi() ? "on (train --distributed, mpirun)" : "off (one process)");
}

}  // namespace graphc::cli

int main(int argc, char** argv) {
  CLI::App app{"graphc: a static computation-graph compiler for sequence models"};
  app.require_subcommand(1);
  // A flag given twice takes its last value, so scripts can override defaults.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", graphc::cli::versionText);
  graphc::cli::addTrainCommand(app);
  graphc::cli::addGenerateCommand(app);
  graphc::cli::addEvalCommand(app);
  graphc::cli::addModelsCommand(app);
  graphc::cli::addExportCommand(app);
  graphc::cli::addPlotCommand(app);
  graphc::cli::addCompileCommand(app);
  graphc::cli::addOptCommand(app);
  graphc::cli::addHelpCommand(app);
  if (std::string message = graphc::cli::unknownSubcommandMessage(app, argc, argv); !message.empty()) {
    std::cerr << message << "\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors (an unknown flag, a bad value) exit 2; failures while running exit 1.
    // Under mpirun every rank finds the same one: rank 0 says it.
    if (graphc::launcherRank() != 0) return 2;
    std::cerr << "graphc: error: " << graphc::escapeForMessage(e.what(), 200) << graphc::cli::flagSuggestion(app, e)
              << " (see --help)\n";
    return 2;
  } catch (const graphc::UnknownNameError& e) {
    // A mistyped model, pass or hyperparameter: a usage error, with the nearest name.
    if (graphc::launcherRank() != 0) return 2;
    const std::string message = e.what();
    const bool placed = message.find(": error:") != std::string::npos || message.rfind("graphc", 0) == 0;
    std::string nearest = graphc::cli::nearestWord(e.name(), e.known());
    std::cerr << (placed ? "" : "graphc: error: ") << message
              << (nearest.empty() ? "" : "; did you mean '" + nearest + "'?") << "\n";
    return 2;
  } catch (const graphc::Error& e) {
    // Empty: reported by another rank. A message that does not say where it
    // comes from ("FILE: error:", "graphc ...") gets the common prefix.
    const std::string message = e.what();
    const bool placed = message.find(": error:") != std::string::npos || message.rfind("graphc", 0) == 0;
    if (!message.empty()) std::cerr << (placed ? "" : "graphc: error: ") << message << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "graphc: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "graphc: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
