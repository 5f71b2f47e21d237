// codegen/ObjectCache.h — compiled objects on disk, keyed by what produced
// them. An entry holds its full key and a checksum, so a corrupt or truncated
// file, a hash collision, or an object from another LLVM or CPU is never
// loaded: it reads as a miss and is rebuilt.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace graphc {

// The directory is private: created 0700, and used only when this user owns
// it and no one else may write it (else one warning, and no cache). Entries
// are regular files of at most 256 MiB; the whole cache is pruned, oldest
// first, past 1 GiB. Pruning touches only the cache's own files (HASH.gobj and
// their writers' HASH.gobj.tmp.XXXXXX), whatever else the directory holds.
class ObjectCache {
 public:
  static constexpr uint64_t kMaxEntryBytes = uint64_t(256) << 20;
  static constexpr uint64_t kMaxCacheBytes = uint64_t(1) << 30;

  explicit ObjectCache(std::string dir) : dir_(std::move(dir)) {}

  // `key` is the full description (module text, target, LLVM version).
  std::string pathFor(const std::string& key) const;
  std::optional<std::string> load(const std::string& key) const;
  // Writes atomically. On failure (read-only, full) warns once on stderr and
  // turns caching off for this process; never throws.
  void store(const std::string& key, const std::string& object);
  // Removes the entry for `key` (one that loaded but did not link); never throws.
  void drop(const std::string& key) const;

 private:
  bool usable() const;
  void prune() const;
  std::string dir_;
  mutable std::once_flag checked_;
  mutable bool usable_ = false;
};

}  // namespace graphc
