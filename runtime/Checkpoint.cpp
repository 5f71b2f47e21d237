// runtime/Checkpoint.cpp — safetensors reading and writing.
#include "runtime/Checkpoint.h"

#include <algorithm>
#include <set>
#include <vector>
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

// Whether any JSON object in `text` names a key twice (nlohmann keeps the last silently).
bool hasDuplicateKeys(const std::string& text) {
  std::vector<std::set<std::string>> open;  // the keys seen in each enclosing object
  bool duplicate = false;
  nlohmann::json::parser_callback_t watch = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start) open.emplace_back();
    else if (event == E::object_end && !open.empty()) open.pop_back();
    else if (event == E::key && !open.empty() && !open.back().insert(parsed.get<std::string>()).second) duplicate = true;
    return true;
  };
  [[maybe_unused]] nlohmann::json whole = nlohmann::json::parse(text, watch);  // only the callback matters
  return duplicate;
}

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

namespace {

// The header's entries checked against a data section of `dataSize` bytes:
// dtypes, whole-number shapes and offsets, each tensor's size, and the
// tensors tiling the data exactly.
CheckpointIndex parseIndex(const std::string& json, uint64_t dataStart, uint64_t dataSize, const std::string& path) {
  auto fail = [&](const std::string& msg) -> Error { return Error(fmt::format("{}: error: {}", path, msg)); };
  nlohmann::json header;
  // A key given twice is refused, at any depth: JSON parsers disagree on
  // which one wins, so the file means nothing definite.
  bool duplicate = false;
  try {
    header = nlohmann::json::parse(json);
    duplicate = hasDuplicateKeys(json);
  } catch (const nlohmann::json::exception&) {
    throw fail("corrupt checkpoint: the header is not valid JSON");
  }
  if (duplicate) throw fail("corrupt checkpoint: the header names a key twice");
  if (!header.is_object()) throw fail("corrupt checkpoint: the header is not a JSON object");
  CheckpointIndex index;
  index.dataStart = dataStart;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // each tensor's bytes, to refuse overlaps and gaps
  try {
    for (auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        for (auto& [k, v] : entry.items()) index.metadata[k] = v.get<std::string>();
        continue;
      }
      std::string dtype = entry.at("dtype").get<std::string>();
      if (dtype != "F32" && dtype != "I32") throw fail(fmt::format("tensor '{}' has unsupported dtype {}", name, dtype));
      // Whole numbers only: a dimension like 7e117 (or 2.5) would become an int64 by an undefined conversion.
      for (const auto& d : entry.at("shape"))
        if (!d.is_number_integer()) throw fail(fmt::format("tensor '{}' has a shape that is not whole numbers", name));
      Shape shape = entry.at("shape").get<Shape>();
      for (const auto& o : entry.at("data_offsets"))
        if (!o.is_number_unsigned()) throw fail(fmt::format("tensor '{}' has data offsets that are not whole numbers", name));
      auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      uint64_t count = 1;
      for (int64_t d : shape) {
        if (d < 0 || (d > 0 && count > (uint64_t(1) << 34) / uint64_t(d)))
          throw fail(fmt::format("tensor '{}' has a bad shape", name));
        count *= uint64_t(d);
      }
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > dataSize || offsets[1] - offsets[0] != count * 4)
        throw fail(fmt::format("tensor '{}' has data offsets outside the file or of the wrong size (truncated?)", name));
      ranges.emplace_back(offsets[0], offsets[1]);
      index.tensors[name] = {TensorType{dtype == "F32" ? DType::F32 : DType::I32, shape}, offsets[0]};
    }
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("corrupt checkpoint header: {}", e.what()));
  }
  // The tensors tile the data exactly: no overlap, no gap, nothing after them.
  std::sort(ranges.begin(), ranges.end());
  uint64_t at = 0;
  for (auto [begin, end] : ranges) {
    if (begin != at) throw fail(begin < at ? "corrupt checkpoint: two tensors share bytes" : "corrupt checkpoint: bytes between tensors");
    at = end;
  }
  if (at != dataSize) throw fail(fmt::format("corrupt checkpoint: {} bytes after the last tensor", dataSize - at));
  return index;
}

// The header length of a file of `fileBytes` whose first 8 bytes are `first8`.
uint64_t headerLength(const char* first8, uint64_t fileBytes, const std::string& path) {
  if (fileBytes < 8) throw Error(fmt::format("{}: error: not a safetensors checkpoint (shorter than its 8-byte header length)", path));
  uint64_t headerSize;
  std::memcpy(&headerSize, first8, 8);
  if (headerSize > fileBytes - 8 || headerSize > (uint64_t(1) << 27))
    throw Error(fmt::format("{}: error: truncated or not a safetensors checkpoint (header of {} bytes in a {}-byte file)",
                            path, headerSize, fileBytes));
  return headerSize;
}

bool wanted(const std::set<std::string>* only, const std::string& name) { return !only || only->count(name) != 0; }

}  // namespace

CheckpointIndex readCheckpointIndex(const std::string& path) {
  BoundedFile file(path, kMaxCheckpointBytes, "the checkpoint");
  char first8[8] = {};
  file.readAt(0, first8, std::min<uint64_t>(8, file.size()));
  uint64_t headerSize = headerLength(first8, file.size(), path);
  std::string json(size_t(headerSize), '\0');
  file.readAt(8, json.data(), headerSize);
  return parseIndex(json, 8 + headerSize, file.size() - 8 - headerSize, path);
}

Checkpoint readCheckpointTensors(const std::string& path, const CheckpointIndex& index, const std::set<std::string>* only) {
  BoundedFile file(path, kMaxCheckpointBytes, "the checkpoint");
  Checkpoint ckpt;
  ckpt.metadata = index.metadata;
  for (const auto& [name, entry] : index.tensors) {
    if (!wanted(only, name)) continue;
    Tensor t(entry.type);
    char* dst = entry.type.dtype == DType::F32 ? reinterpret_cast<char*>(t.f32()) : reinterpret_cast<char*>(t.i32());
    file.readAt(index.dataStart + entry.offset, dst, uint64_t(t.size()) * 4);
    ckpt.tensors[name] = std::move(t);
  }
  return ckpt;
}

Checkpoint loadCheckpoint(const std::string& path) { return readCheckpointTensors(path, readCheckpointIndex(path)); }

Checkpoint parseCheckpoint(const std::string& bytes, const std::string& path) {
  uint64_t headerSize = headerLength(bytes.data(), bytes.size(), path);
  CheckpointIndex index = parseIndex(bytes.substr(8, headerSize), 8 + headerSize, bytes.size() - 8 - headerSize, path);
  Checkpoint ckpt;
  ckpt.metadata = index.metadata;
  for (const auto& [name, entry] : index.tensors) {
    Tensor t(entry.type);
    char* dst = entry.type.dtype == DType::F32 ? reinterpret_cast<char*>(t.f32()) : reinterpret_cast<char*>(t.i32());
    if (t.size() > 0) std::memcpy(dst, bytes.data() + index.dataStart + entry.offset, size_t(t.size()) * 4);
    ckpt.tensors[name] = std::move(t);
  }
  return ckpt;
}

}  // namespace graphc
