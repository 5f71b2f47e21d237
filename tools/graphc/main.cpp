// tools/graphc/main.cpp — the graphc driver: parses the command line and
// turns every error into one line on stderr and a non-zero exit.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "graph/Error.h"
#include "graph/Version.h"
#include "graph/FileIO.h"
#include "tools/graphc/Commands.h"

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

}  // namespace graphc::cli

int main(int argc, char** argv) {
  CLI::App app{"graphc: a static computation-graph compiler for sequence models"};
  app.require_subcommand(1);
  // A flag given twice takes its last value, so scripts can override defaults.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", "graphc " GRAPHC_VERSION);
  graphc::cli::addTrainCommand(app);
  graphc::cli::addGenerateCommand(app);
  graphc::cli::addModelsCommand(app);
  graphc::cli::addExportCommand(app);
  graphc::cli::addCompileCommand(app);
  graphc::cli::addOptCommand(app);
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
    std::cerr << "graphc: error: " << graphc::escapeForMessage(e.what(), 200) << " (see --help)\n";
    return 2;
  } catch (const graphc::Error& e) {
    std::cerr << e.what() << "\n";
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
