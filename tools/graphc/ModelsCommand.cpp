// tools/graphc/ModelsCommand.cpp — `graphc models`: the models graphc can train.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>
#include <memory>

#include "models/Model.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/Plugins.h"

namespace graphc::cli {
namespace {

struct ModelsFlags {
  std::vector<std::string> modelLibs;
  int64_t vocab = 28;
};

void runModels(const ModelsFlags& f) {
  for (const auto& lib : f.modelLibs) loadModelLibrary(lib);
  std::cout << fmt::format("{:<14} {:>7} {:>7} {:>12}  {}\n", "model", "hidden", "layers", "parameters", "description");
  // A model that cannot be built (a plugin's mistake) is listed with its error
  // beside the others; the command then fails.
  std::vector<std::string> broken;
  for (const ModelDef& m : allModels()) {
    ModelConfig c = withModelDefaults(m, configWithModelDefaults());
    c.vocab = f.vocab;
    c.batchSize = 1;
    c.numSteps = 1;
    std::string params, error;
    try {
      Graph g = buildStepGraph(m, c);
      int64_t count = 0;
      for (ValueId p : g.nodesOf(OpKind::Param)) count += g.type(p).numElements();
      params = std::to_string(count);
    } catch (const Error& e) {
      params = "broken";
      broken.push_back(m.name);
      error = e.what();
    }
    std::cout << fmt::format("{:<14} {:>7} {:>7} {:>12}  {}\n", m.name, c.hidden,
                             m.stacksLayers ? std::to_string(c.numLayers) : "1 only", params, m.description);
    if (!error.empty()) std::cout << fmt::format("{:<14} cannot be built: {}\n", "", error);
    for (const Hyperparameter& h : m.hyperparameters)
      std::cout << fmt::format("{:<14} --set {}={} : {}\n", "", h.name, h.defaultValue, h.description);
  }
  std::cout.flush();
  if (!broken.empty())
    throw Error(fmt::format("{} of the {} models cannot be built ({}): their errors are listed above", broken.size(),
                            allModels().size(), fmt::join(broken, ", ")));
}

}  // namespace

void addModelsCommand(CLI::App& app) {
  auto f = std::make_shared<ModelsFlags>();
  CLI::App* cmd = app.add_subcommand("models", "List the models with their defaults (hidden, layers, hyperparameters) and parameter count");
  addModelLibFlag(cmd, f->modelLibs);
  cmd->add_option("--vocab", f->vocab, "Vocabulary size used to count parameters")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  cmd->callback([f] { runModels(*f); });
}

}  // namespace graphc::cli
