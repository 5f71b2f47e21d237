// runtime/Checkpoint.h — parameters in the safetensors format: an 8-byte
// little-endian header length, a JSON header (name -> dtype, shape,
// data_offsets; "__metadata__" -> string map), then the raw data.
#pragma once

#include <map>
#include <set>
#include <string>

#include "graph/eval/Tensor.h"

namespace graphc {

struct Checkpoint {
  TensorMap tensors;
  std::map<std::string, std::string> metadata;
};

// Writes through a temporary file and a rename: no partial file on failure.
void saveCheckpoint(const std::string& path, const Checkpoint& ckpt);

// What the header says, validated against the file's size before any tensor
// is read: the metadata, and each tensor's type and place. Reading costs the
// header (at most 128 MiB), whatever the file claims.
struct CheckpointEntry {
  TensorType type;
  uint64_t offset;  // into the data section
};
struct CheckpointIndex {
  std::map<std::string, std::string> metadata;
  std::map<std::string, CheckpointEntry> tensors;
  uint64_t dataStart = 0;  // the data section's place in the file
};
CheckpointIndex readCheckpointIndex(const std::string& path);
// The tensors the index lists (only those in `only`, when given), read from
// the file straight into their tensors.
Checkpoint readCheckpointTensors(const std::string& path, const CheckpointIndex& index,
                                 const std::set<std::string>* only = nullptr);

// Both: reads and validates every header field against the file; throws a
// one-line error naming the file and what is wrong.
Checkpoint loadCheckpoint(const std::string& path);
// The same from bytes in memory (`path` names them in errors); the fuzzer's entry.
Checkpoint parseCheckpoint(const std::string& bytes, const std::string& path);

}  // namespace graphc
