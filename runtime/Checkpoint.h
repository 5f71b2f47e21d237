// runtime/Checkpoint.h — parameters in the safetensors format: an 8-byte
// little-endian header length, a JSON header (name -> dtype, shape,
// data_offsets; "__metadata__" -> string map), then the raw data.
#pragma once

#include <map>
#include <string>

#include "graph/eval/Tensor.h"

namespace graphc {

struct Checkpoint {
  TensorMap tensors;
  std::map<std::string, std::string> metadata;
};

// Writes through a temporary file and a rename: no partial file on failure.
void saveCheckpoint(const std::string& path, const Checkpoint& ckpt);

// Reads and validates every header field against the file; throws a
// one-line error naming the file and what is wrong.
Checkpoint loadCheckpoint(const std::string& path);
// The same from bytes in memory (`path` names them in errors); the fuzzer's entry.
Checkpoint parseCheckpoint(const std::string& bytes, const std::string& path);

}  // namespace graphc
