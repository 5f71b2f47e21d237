// models/Plugin.h — write a model library that `graphc --model-lib` loads.
//
//   #include "models/Plugin.h"
//   static graphc::Value buildMine(graphc::Builder& b, graphc::Value tokens, const graphc::ModelConfig& c) {...}
//   static void registerMine() { graphc::registerModel({"mine", "my model", 64, buildMine}); }
//   GRAPHC_MODEL_PLUGIN(registerMine)
//
// Build it with find_package(graphc) and graphc_add_model_library(); graphc
// refuses a library built against another graphc version or plugin ABI.
#pragma once

#include "graph/Version.h"
#include "models/Layers.h"
#include "models/Model.h"

#define GRAPHC_MODEL_PLUGIN(registerFunction)                                        \
  extern "C" int graphc_plugin_abi() { return GRAPHC_PLUGIN_ABI; }                   \
  extern "C" const char* graphc_plugin_version() { return GRAPHC_VERSION; }          \
  extern "C" void graphc_plugin_register() { registerFunction(); }
