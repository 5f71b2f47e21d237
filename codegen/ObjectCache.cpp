// codegen/ObjectCache.cpp — file format: "GRCOBJ01", u64 key size, key,
// u64 object size, u64 object checksum, object bytes.
#include "codegen/ObjectCache.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <iterator>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/xxhash.h>
#include <unistd.h>

namespace graphc {
namespace {

constexpr char kMagic[8] = {'G', 'R', 'C', 'O', 'B', 'J', '0', '1'};
std::atomic<bool> cacheDisabled{false};

uint64_t hash(const std::string& s) { return llvm::xxh3_64bits(llvm::StringRef(s)); }

void putU64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
bool getU64(const std::string& in, size_t& pos, uint64_t& v) {
  if (in.size() - pos < 8) return false;
  std::memcpy(&v, in.data() + pos, 8);
  pos += 8;
  return true;
}

}  // namespace

std::string ObjectCache::pathFor(const std::string& key) const {
  return (std::filesystem::path(dir_) / fmt::format("{:016x}.gobj", hash(key))).string();
}

std::optional<std::string> ObjectCache::load(const std::string& key) const {
  if (cacheDisabled) return std::nullopt;
  std::ifstream in(pathFor(key), std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t pos = sizeof kMagic;
  uint64_t keySize, objSize, objHash;
  if (bytes.size() < pos || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return std::nullopt;
  if (!getU64(bytes, pos, keySize) || keySize > bytes.size() - pos) return std::nullopt;
  if (bytes.compare(pos, keySize, key) != 0 || keySize != key.size()) return std::nullopt;  // another LLVM, CPU or graph
  pos += keySize;
  if (!getU64(bytes, pos, objSize) || !getU64(bytes, pos, objHash) || objSize != bytes.size() - pos) return std::nullopt;
  std::string object = bytes.substr(pos);
  if (hash(object) != objHash) return std::nullopt;
  // Last guard: it must parse as an object file.
  auto parsed = llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(object, "cached"));
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return std::nullopt;
  }
  return object;
}

void ObjectCache::store(const std::string& key, const std::string& object) {
  if (cacheDisabled) return;
  std::string path = pathFor(key), tmp = fmt::format("{}.{}.tmp", path, getpid());
  std::string bytes(kMagic, sizeof kMagic);
  putU64(bytes, key.size());
  bytes += key;
  putU64(bytes, object.size());
  putU64(bytes, hash(object));
  bytes += object;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  bool ok = !ec;
  if (ok) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.flush();
    ok = bool(out);
  }
  if (ok) {
    std::filesystem::rename(tmp, path, ec);
    ok = !ec;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    if (!cacheDisabled.exchange(true))
      std::cerr << fmt::format("graphc: warning: cannot write the compile cache in {}; continuing without it\n", dir_);
  }
}

}  // namespace graphc
