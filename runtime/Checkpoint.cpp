// runtime/Checkpoint.cpp — safetensors reading and writing.
#include "runtime/Checkpoint.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "graph/Error.h"
#include "graph/FileIO.h"

namespace graphc {

namespace {
// The largest checkpoint graphc reads: the CLI's largest model (an LSTM of
// hidden 16384, 16 layers) does not fit, but any that trains in 24 GiB does.
constexpr uint64_t kMaxCheckpointBytes = uint64_t(4) << 30;
}  // namespace

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

void saveCheckpoint(const std::string& path, const Checkpoint& ckpt) {
  std::vector<std::string> names;
  for (const auto& [name, t] : ckpt.tensors) names.push_back(name);
  std::sort(names.begin(), names.end());
  nlohmann::json header = nlohmann::json::object();
  if (!ckpt.metadata.empty()) header["__metadata__"] = ckpt.metadata;
  uint64_t offset = 0;
  for (const auto& name : names) {
    const Tensor& t = ckpt.tensors.at(name);
    uint64_t bytes = uint64_t(t.size()) * 4;
    header[name] = {{"dtype", t.dtype() == DType::F32 ? "F32" : "I32"},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // align the data to 8 bytes, as the reference writer does
  uint64_t headerSize = json.size();

  std::string bytes(reinterpret_cast<const char*>(&headerSize), 8);
  bytes += json;
  for (const auto& name : names) {
    const Tensor& t = ckpt.tensors.at(name);
    const char* data = t.dtype() == DType::F32 ? reinterpret_cast<const char*>(t.f32())
                                               : reinterpret_cast<const char*>(t.i32());
    bytes.append(data, size_t(t.size()) * 4);
  }
  writeFileSafely(path, bytes, "the checkpoint");
}

Checkpoint loadCheckpoint(const std::string& path) {
  auto fail = [&](const std::string& msg) -> Error { return Error(fmt::format("{}: error: {}", path, msg)); };
  std::string bytes = readFileBounded(path, kMaxCheckpointBytes, "the checkpoint");
  if (bytes.size() < 8) throw fail("not a safetensors checkpoint (shorter than its 8-byte header length)");
  uint64_t headerSize;
  std::memcpy(&headerSize, bytes.data(), 8);
  if (headerSize > bytes.size() - 8 || headerSize > (uint64_t(1) << 27))
    throw fail(fmt::format("truncated or not a safetensors checkpoint (header of {} bytes in a {}-byte file)", headerSize,
                           bytes.size()));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, headerSize));
  } catch (const nlohmann::json::exception&) {
    throw fail("corrupt checkpoint: the header is not valid JSON");
  }
  if (!header.is_object()) throw fail("corrupt checkpoint: the header is not a JSON object");
  const uint64_t dataStart = 8 + headerSize, dataSize = bytes.size() - dataStart;
  Checkpoint ckpt;
  try {
    for (auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        for (auto& [k, v] : entry.items()) ckpt.metadata[k] = v.get<std::string>();
        continue;
      }
      std::string dtype = entry.at("dtype").get<std::string>();
      if (dtype != "F32" && dtype != "I32") throw fail(fmt::format("tensor '{}' has unsupported dtype {}", name, dtype));
      Shape shape = entry.at("shape").get<Shape>();
      auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      uint64_t count = 1;
      for (int64_t d : shape) {
        if (d < 0 || (d > 0 && count > (uint64_t(1) << 34) / uint64_t(d)))
          throw fail(fmt::format("tensor '{}' has a bad shape", name));
        count *= uint64_t(d);
      }
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > dataSize || offsets[1] - offsets[0] != count * 4)
        throw fail(fmt::format("tensor '{}' has data offsets outside the file or of the wrong size (truncated?)", name));
      Tensor t(dtype == "F32" ? DType::F32 : DType::I32, shape);
      char* dst = dtype == "F32" ? reinterpret_cast<char*>(t.f32()) : reinterpret_cast<char*>(t.i32());
      std::memcpy(dst, bytes.data() + dataStart + offsets[0], count * 4);
      ckpt.tensors[name] = std::move(t);
    }
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("corrupt checkpoint header: {}", e.what()));
  }
  return ckpt;
}

}  // namespace graphc
