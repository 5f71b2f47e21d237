// graph/FileIO.h — the one way graphc reads and writes files, in the bottom
// layer so every layer uses it.
//
// Writing: a unique temporary (O_EXCL, mode 0600 then the umask's mode) in the
// target's directory, written in full and fsync'ed, renamed over the target,
// then the directory fsync'ed: a crash or a kill leaves the old file or the
// new one, never a mix, and two writers never share a temporary. Nothing on
// the way follows a symlink planted at the temporary's name. A regular file
// replaced keeps its permissions. A target that is a character device or a
// FIFO (/dev/null, /dev/stdout) is written in place, never replaced; a
// directory, a block device and a socket are refused.
//
// Reading: the path must be a regular file (or a FIFO/device where the caller
// allows a stream) no larger than the caller's limit, checked before a byte is
// read, so `--data /dev/zero` is one error line, not memory exhaustion.
#pragma once

#include <cstdint>
#include <string>

namespace graphc {

// Throws "PATH: error: cannot write WHAT: REASON".
void writeFileSafely(const std::string& path, const std::string& bytes, const std::string& what = "the file");

// Throws "PATH: error: cannot write WHAT: REASON" when `path` could not be
// written later (its directory is missing or not writable, it is a
// directory): run before long work whose result goes there.
void checkWritable(const std::string& path, const std::string& what);

// The whole file, at most `maxBytes`. Throws "PATH: error: ..." naming WHAT
// when it is missing, not a regular file, or too large.
std::string readFileBounded(const std::string& path, uint64_t maxBytes, const std::string& what);

// A regular file of at most maxBytes, open for reads at any offset (a
// checkpoint's header, then each tensor straight into its place); the same
// refusals as readFileBounded. A read past what the file holds (it shrank
// while read) throws naming `what`.
class BoundedFile {
 public:
  BoundedFile(const std::string& path, uint64_t maxBytes, const std::string& what);
  ~BoundedFile();
  BoundedFile(const BoundedFile&) = delete;
  BoundedFile& operator=(const BoundedFile&) = delete;
  uint64_t size() const { return size_; }
  void readAt(uint64_t offset, char* dst, uint64_t bytes) const;

 private:
  std::string path_, what_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Human-readable byte counts for messages: "256 MiB".
std::string formatBytes(uint64_t bytes);

}  // namespace graphc
