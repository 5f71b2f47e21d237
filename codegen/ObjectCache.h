// codegen/ObjectCache.h — compiled objects on disk, keyed by what produced
// them. An entry holds its full key and a checksum, so a corrupt or truncated
// file, a hash collision, or an object from another LLVM or CPU is never
// loaded: it reads as a miss and is rebuilt.
#pragma once

#include <optional>
#include <string>

namespace graphc {

class ObjectCache {
 public:
  explicit ObjectCache(std::string dir) : dir_(std::move(dir)) {}

  // `key` is the full description (module text, target, LLVM version).
  std::string pathFor(const std::string& key) const;
  std::optional<std::string> load(const std::string& key) const;
  // Writes atomically. On failure (read-only, full) warns once on stderr and
  // turns caching off for this process; never throws.
  void store(const std::string& key, const std::string& object);

 private:
  std::string dir_;
};

}  // namespace graphc
