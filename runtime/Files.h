// runtime/Files.h — writing files so that a failure never leaves a partial one.
#pragma once

#include <string>

namespace graphc {

// Writes `bytes` to `path` through "<path>.tmp" and a rename. Throws
// "PATH: error: cannot write ..." (with `what`, e.g. "the checkpoint") on failure.
void writeFileAtomically(const std::string& path, const std::string& bytes, const std::string& what = "the file");

}  // namespace graphc
