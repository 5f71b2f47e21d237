// tools/graphc/ModelFlags.h — the flags that pick and size a model, defined
// once for train, compile and generate (--model, --model-lib, --hidden,
// --num-layers, --set; and for a graph of many steps --batch-size and
// --num-steps), so each has one name, one range and one meaning everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "models/ModelInterface.h"

namespace graphc::cli {

struct ModelFlags {
  std::string model = "rnn-scratch";
  std::vector<std::string> modelLibs;
  ModelConfig config = configWithModelDefaults();  // hidden and layers 0: the model's own
  std::vector<std::string> sets;                   // --set NAME=VALUE, as given
};

struct ModelFlagsHelp {
  std::string model;        // what --model means to the command
  std::string scope;        // appended to the sizing flags' help ("" or " with --untrained")
  bool batchShape = true;   // --batch-size and --num-steps too
};

void addModelFlags(CLI::App* cmd, ModelFlags& f, const ModelFlagsHelp& help);

// The model named, after loading --model-lib's libraries; f.config with --set
// applied and what it leaves unset taken from the model. A plugin's model is
// checked against the logits contract (runtime/ModelContract.h) first.
const ModelDef& resolveModel(ModelFlags& f);

}  // namespace graphc::cli
