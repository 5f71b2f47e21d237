// codegen/ObjectCache.cpp — file format: "GRCOBJ01", u64 key size, key,
// u64 object size, u64 object checksum, object bytes.
#include "codegen/ObjectCache.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <regex>
#include <set>
#include <cerrno>
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
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "graph/Error.h"
#include "graph/FileIO.h"

namespace graphc {
namespace {

constexpr char kMagic[8] = {'G', 'R', 'C', 'O', 'B', 'J', '0', '1'};
// Directories this process stopped using (it warned once for each).
std::mutex disabledMutex;
std::set<std::string> disabledDirs;

bool isDisabled(const std::string& dir) {
  std::lock_guard<std::mutex> lock(disabledMutex);
  return disabledDirs.count(dir) != 0;
}
// Returns true the first time, so the caller warns once per directory.
bool disable(const std::string& dir) {
  std::lock_guard<std::mutex> lock(disabledMutex);
  return disabledDirs.insert(dir).second;
}

uint64_t hash(const std::string& s) { return llvm::xxh3_64bits(llvm::StringRef(s)); }

void putU64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
bool getU64(const std::string& in, size_t& pos, uint64_t& v) {
  if (in.size() - pos < 8) return false;
  std::memcpy(&v, in.data() + pos, 8);
  pos += 8;
  return true;
}

// The cache's own file names: an entry, and a temporary a writer left (FileIO's
// PATH.tmp.XXXXXX). Nothing else in the directory is the cache's to delete.
bool isEntryName(const std::string& name) {
  static const std::regex entry("[0-9a-f]{16}\\.gobj");
  return std::regex_match(name, entry);
}
bool isTemporaryName(const std::string& name) {
  static const std::regex temporary("[0-9a-f]{16}\\.gobj\\.tmp\\.[A-Za-z0-9]{6}");
  return std::regex_match(name, temporary);
}

}  // namespace

std::string ObjectCache::pathFor(const std::string& key) const {
  return (std::filesystem::path(dir_) / fmt::format("{:016x}.gobj", hash(key))).string();
}

std::optional<std::string> ObjectCache::load(const std::string& key) const {
  if (isDisabled(dir_) || !usable()) return std::nullopt;
  // An entry is a regular file of bounded size, not followed through a link:
  // anything else (a FIFO, a device, a directory, a link) is a miss.
  std::string path = pathFor(key);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || uint64_t(st.st_size) > kMaxEntryBytes)
    return std::nullopt;
  std::string bytes;
  try {
    bytes = readFileBounded(path, kMaxEntryBytes, "the cache entry");
  } catch (const Error&) {
    return std::nullopt;
  }
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
  if (isDisabled(dir_) || !usable()) return;
  std::string bytes(kMagic, sizeof kMagic);
  putU64(bytes, key.size());
  bytes += key;
  putU64(bytes, object.size());
  putU64(bytes, hash(object));
  bytes += object;
  struct stat st {};
  if (::lstat(pathFor(key).c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return;  // not ours to replace
  try {
    writeFileSafely(pathFor(key), bytes, "the cache entry");
  } catch (const Error&) {
    if (disable(dir_))
      std::cerr << fmt::format("graphc: warning: cannot write the compile cache in {}; continuing without it\n", dir_);
    return;
  }
  prune();
}

bool ObjectCache::usable() const {
  std::call_once(checked_, [this] {
    // Created 0700, and used only when it is a directory of this user's that
    // no one else may write: the cache holds code graphc runs.
    std::error_code ec;
    std::filesystem::path dir(dir_);
    if (!std::filesystem::exists(dir, ec)) {
      if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
      ::mkdir(dir_.c_str(), 0700);
    }
    struct stat st {};
    std::string why;
    if (::lstat(dir_.c_str(), &st) != 0) why = std::strerror(errno);
    else if (!S_ISDIR(st.st_mode)) why = "it is not a directory";
    else if (st.st_uid != ::geteuid()) why = "another user owns it";
    else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) why = "others may write to it";
    usable_ = why.empty();
    if (!usable_ && disable(dir_))
      std::cerr << fmt::format("graphc: warning: not using the compile cache in {}: {}; continuing without it\n", dir_,
                               why);
  });
  return usable_;
}

void ObjectCache::drop(const std::string& key) const {
  std::string path = pathFor(key);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(path.c_str());
}

void ObjectCache::prune() const {
  // Oldest first, until the entries fit the cap; temporaries a killed writer
  // left behind go after ten minutes (writing an entry takes milliseconds).
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  uint64_t total = 0;
  auto now = fs::file_time_type::clock::now();
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (!e.is_regular_file(ec)) continue;
    std::string name = e.path().filename().string();
    auto when = e.last_write_time(ec);
    if (isTemporaryName(name)) {
      if (now - when > std::chrono::minutes(10)) fs::remove(e.path(), ec);
      continue;
    }
    if (!isEntryName(name)) continue;
    total += e.file_size(ec);
    entries.emplace_back(when, e.path());
  }
  if (total <= kMaxCacheBytes) return;
  std::sort(entries.begin(), entries.end());
  for (const auto& [when, path] : entries) {
    if (total <= kMaxCacheBytes) break;
    uint64_t size = fs::file_size(path, ec);
    if (fs::remove(path, ec)) total -= std::min(total, size);
  }
}

}  // namespace graphc
