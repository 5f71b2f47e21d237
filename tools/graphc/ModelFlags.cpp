// tools/graphc/ModelFlags.cpp — see ModelFlags.h.
#include "tools/graphc/ModelFlags.h"

#include "models/Model.h"
#include "runtime/ModelContract.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/Plugins.h"

namespace graphc::cli {

void addModelFlags(CLI::App* cmd, ModelFlags& f, const ModelFlagsHelp& help) {
  auto* model = cmd->add_option("--model", f.model, help.model);
  if (!f.model.empty()) model->capture_default_str();
  addModelLibFlag(cmd, f.modelLibs);
  cmd->add_option("--hidden", f.config.hidden, "Hidden units" + help.scope + " (default: the model's; see `graphc models`)")
      ->check(CLI::Range(1, 1 << 14));
  cmd->add_option("--num-layers", f.config.numLayers,
                  "Stacked layers" + help.scope + " (default: the model's; see `graphc models`)")
      ->check(CLI::Range(1, 16));
  cmd->add_option("--set", f.sets,
                  "A hyperparameter of the model" + help.scope + ", NAME=VALUE (repeatable; see `graphc models`)");
  if (!help.batchShape) return;
  cmd->add_option("--batch-size", f.config.batchSize, "Minibatch size")->check(CLI::Range(1, 1 << 16))->capture_default_str();
  cmd->add_option("--num-steps", f.config.numSteps, "Time steps per minibatch (truncated BPTT length)")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
}

const ModelDef& resolveModel(ModelFlags& f) {
  for (const auto& lib : f.modelLibs) loadModelLibrary(lib);
  const ModelDef& model = findModel(f.model);
  for (const auto& setting : f.sets) parseSetting(setting, f.config);
  f.config = withModelDefaults(model, f.config);
  if (!isBuiltinModel(model.name)) checkLogitsOrder(model, f.config);
  return model;
}

}  // namespace graphc::cli
