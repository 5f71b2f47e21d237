// tools/graphc/Plugins.h — loading model libraries (--model-lib).
#pragma once

#include <string>

namespace graphc::cli {

// dlopens the library, checks its graphc version and plugin ABI, and lets it
// register its models. Throws a one-line "--model-lib: ..." error.
void loadModelLibrary(const std::string& path);

}  // namespace graphc::cli
