// tools/graphc/Plugins.cpp — dlopen and the version handshake.
#include "tools/graphc/Plugins.h"

#include "models/Model.h"

#include <cstring>
#include <map>
#include <dlfcn.h>
#include <filesystem>
#include <fmt/format.h>

#include "graph/Error.h"
#include "graph/Version.h"

namespace graphc::cli {

namespace {

// Model name -> the --model-lib path that registered it.
std::map<std::string, std::string>& librariesOf() {
  static std::map<std::string, std::string> libraries;
  return libraries;
}

}  // namespace

void loadModelLibrary(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(fmt::format("--model-lib: no such file: {}", path));
  // A bare name would make dlopen search the library path; keep it a path.
  std::string resolved = path.find('/') == std::string::npos ? "./" + path : path;
  void* handle = dlopen(resolved.c_str(), RTLD_NOW | RTLD_LOCAL);  // never closed: its code stays in use
  if (!handle) throw Error(fmt::format("--model-lib: cannot load {}: {}", path, dlerror()));
  auto abi = reinterpret_cast<int (*)()>(dlsym(handle, "graphc_plugin_abi"));
  auto version = reinterpret_cast<const char* (*)()>(dlsym(handle, "graphc_plugin_version"));
  auto registerModels = reinterpret_cast<void (*)()>(dlsym(handle, "graphc_plugin_register"));
  if (!abi || !version || !registerModels)
    throw Error(fmt::format("--model-lib: {} is not a graphc model library (no GRAPHC_MODEL_PLUGIN entry points)", path));
  // Same ABI and the same major.minor: a patch release (0.1.0 -> 0.1.1) keeps every plugin working,
  // as the library's SONAME (libgraphc.so.0) and the CMake package (SameMinorVersion) say.
  auto minorOf = [](std::string v) { return v.substr(0, v.rfind('.')); };
  if (abi() != GRAPHC_PLUGIN_ABI || minorOf(version()) != minorOf(GRAPHC_VERSION))
    throw Error(fmt::format("--model-lib: {} was built against graphc {} (plugin ABI {}), this is graphc {} (ABI {}); "
                            "rebuild it against this installation",
                            path, version(), abi(), GRAPHC_VERSION, GRAPHC_PLUGIN_ABI));
  size_t before = allModels().size();
  registerModels();
  for (size_t i = before; i < allModels().size(); ++i) librariesOf()[allModels()[i].name] = path;
}

std::string modelLibraryOf(const std::string& model) {
  auto it = librariesOf().find(model);
  return it == librariesOf().end() ? "" : it->second;
}

}  // namespace graphc::cli
