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

Checkpoint loadCheckpoint(const std::string& path) {
  return parseCheckpoint(readFileBounded(path, kMaxCheckpointBytes, "the checkpoint"), path);
}

Checkpoint parseCheckpoint(const std::string& bytes, const std::string& path) {
  auto fail = [&](const std::string& msg) -> Error { return Error(fmt::format("{}: error: {}", path, msg)); };
  if (bytes.size() < 8) throw fail("not a safetensors checkpoint (shorter than its 8-byte header length)");
  uint64_t headerSize;
  std::memcpy(&headerSize, bytes.data(), 8);
  if (headerSize > bytes.size() - 8 || headerSize > (uint64_t(1) << 27))
    throw fail(fmt::format("truncated or not a safetensors checkpoint (header of {} bytes in a {}-byte file)", headerSize,
                           bytes.size()));
  nlohmann::json header;
  // A key given twice is refused, at any depth: JSON parsers disagree on
  // which one wins, so the file means nothing definite.
  bool duplicate = false;
  try {
    header = nlohmann::json::parse(bytes.substr(8, headerSize));
    duplicate = hasDuplicateKeys(bytes.substr(8, headerSize));
  } catch (const nlohmann::json::exception&) {
    throw fail("corrupt checkpoint: the header is not valid JSON");
  }
  if (duplicate) throw fail("corrupt checkpoint: the header names a key twice");
  if (!header.is_object()) throw fail("corrupt checkpoint: the header is not a JSON object");
  const uint64_t dataStart = 8 + headerSize, dataSize = bytes.size() - dataStart;
  Checkpoint ckpt;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // each tensor's bytes, to refuse overlaps and gaps
  try {
    for (auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        for (auto& [k, v] : entry.items()) ckpt.metadata[k] = v.get<std::string>();
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
      Tensor t(dtype == "F32" ? DType::F32 : DType::I32, shape);
      char* dst = dtype == "F32" ? reinterpret_cast<char*>(t.f32()) : reinterpret_cast<char*>(t.i32());
      if (count > 0) std::memcpy(dst, bytes.data() + dataStart + offsets[0], count * 4);
      ckpt.tensors[name] = std::move(t);
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
  return ckpt;
}

}  // namespace graphc
