// fuzz/checkpoint_fuzzer.cpp — libFuzzer harness: bytes as a safetensors
// checkpoint, through the reader and the checks generate and train make on
// its tensors (types against the shapes they declare). graphc::Error is the
// expected answer to bad input; anything else is a finding. Built and run by
// scripts/fuzz.sh.
#include <cstdint>
#include <string>

#include "graph/Error.h"
#include "runtime/Checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace graphc;
  try {
    Checkpoint c = parseCheckpoint(std::string(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
    // Touch every tensor's bytes: a size that lies would read out of bounds here.
    double sum = 0;
    for (const auto& [name, t] : c.tensors)
      for (int64_t i = 0; i < t.size(); ++i) sum += t.at(i);
    (void)sum;
  } catch (const Error&) {
  }
  return 0;
}
