// runtime/ExportFiles.h — the text files `graphc export` writes beside the
// library: its C header, the example program, and the pkg-config and CMake
// descriptions (runtime/Export.cpp writes them all or nothing).
#pragma once

#include <cstdint>
#include <string>

#include "target/Target.h"
#include "models/ModelInterface.h"
#include "runtime/Corpus.h"

namespace graphc {

// NAME.h: the API, the target CPU and the features it needs, the model's sizes.
std::string headerText(const std::string& n, const ModelDef& model, const ModelConfig& c, const Vocab& vocab,
                       const Target& target, int64_t features, int64_t maxTokenBytes, const std::string& source,
                       bool weightsFile);
// example.c: continues a prefix as `graphc generate` does.
std::string exampleText(const std::string& n);
// NAME.pc, relocatable (${pcfiledir} is wherever the file is found).
std::string pkgConfigText(const std::string& n);
// NAMEConfig.cmake: the imported target NAME::NAME, relative to wherever the file is found.
std::string cmakeConfigText(const std::string& n);

}  // namespace graphc
