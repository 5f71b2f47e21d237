// tools/graphc/Plugins.h — loading model libraries (--model-lib).
#pragma once

#include <string>

namespace graphc::cli {

// dlopens the library, checks its graphc version and plugin ABI, and lets it
// register its models. Throws a one-line "--model-lib: ..." error.
void loadModelLibrary(const std::string& path);

// The library that registered `model`, as given to --model-lib; "" for a built-in model.
std::string modelLibraryOf(const std::string& model);

}  // namespace graphc::cli
