// models/Model.h — the registry of built-in models and of those plugins add.
// What a model is (ModelDef, ModelConfig) is models/ModelInterface.h.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/ModelInterface.h"

namespace graphc {

// The built-in models, then any registered by plugins.
const std::vector<ModelDef>& allModels();
// Adds a model (plugins call this); throws if the name is taken.
void registerModel(ModelDef model);
// Throws "unknown model 'x' (known: ...)".
const ModelDef& findModel(const std::string& name);
// Whether `name` is one of graphc's own models (not a plugin's).
bool isBuiltinModel(const std::string& name);

}  // namespace graphc
