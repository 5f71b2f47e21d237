// runtime/Export.h — `graphc export`: a trained model as a static C library
// (codegen/GenerationProgram.h's program, the weights as constants, the C API
// of codegen/portable/api.c) with its header and an example program. Needs
// only libc and libm at run time.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/ModelInterface.h"
#include "runtime/Corpus.h"
#include "graph/eval/Tensor.h"

namespace graphc {

struct ExportOptions {
  std::string dir;                 // created (or filled) with the files below
  std::string name = "model";      // a C identifier: NAME.h, libNAME.a, NAME_create, ...
  std::string targetCpu = "host";  // any LLVM CPU name; the library refuses CPUs without its features
  std::string source;              // what to name as the origin in the header (the checkpoint's path)
  int64_t cpuFeatures = -1;        // tests only: the features the library demands (-1: the target's)
  bool weightsFile = false;        // the weights in NAME.weights, mapped at run time, not in the object
  bool sharedLibrary = false;      // also libNAME.so, linked by the system's `cc -shared`
  // Called as each stage of the export starts ("compiling the program", ...): progress for big models.
  std::function<void(const std::string& stage)> onStage;
};

// The files written, in DIR: NAME.h, NAME.o, libNAME.a, example.c, NAME.pc,
// NAMEConfig.cmake (and NAME.weights with weightsFile, libNAME.so with
// sharedLibrary). All are
// written to a fresh directory beside DIR first and moved in at the end, so a
// failure leaves DIR as it was. Throws one-line errors (a name that is not a C
// identifier, an unwritable DIR, params that do not fit the model).
std::vector<std::string> exportLibrary(const ModelDef& model, const ModelConfig& config, const TensorMap& params,
                                       const Vocab& vocab, const ExportOptions& options);

// Whether `name` can prefix C identifiers (and is not a C keyword).
bool isCIdentifier(const std::string& name);
// Throws "--name '...' is not a C identifier (...)" unless it is one.
void checkLibraryName(const std::string& name);

}  // namespace graphc
