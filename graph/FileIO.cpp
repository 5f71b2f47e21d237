// graph/FileIO.cpp — see FileIO.h.
#include "graph/FileIO.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/Error.h"

namespace graphc {
namespace {

std::string directoryOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool writeAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

mode_t currentUmask() {
  mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

}  // namespace

std::string formatBytes(uint64_t bytes) {
  if (bytes >= (uint64_t(1) << 30) && bytes % (uint64_t(1) << 30) == 0) return fmt::format("{} GiB", bytes >> 30);
  if (bytes >= (uint64_t(1) << 20)) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} bytes", bytes);
}

// Why a file cannot be written over `st`, or "" when it can: a directory, a
// block device (a disk: a checkpoint is never written over one) and a socket
// are refused.
std::string unwritableKind(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return "it is a directory";
  if (S_ISBLK(st.st_mode)) return "it is a block device";
  if (S_ISSOCK(st.st_mode)) return "it is a socket";
  return "";
}

void checkWritable(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !unwritableKind(st).empty())
    throw Error(fmt::format("{}: error: cannot write {}: {}", path, what, unwritableKind(st)));
  // A real trial, not access(): root passes access() on a read-only mount
  // and learned it only when the result was written, after the work.
  std::string trial = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(trial.data());
  if (fd < 0) throw Error(fmt::format("{}: error: cannot write {}: {}", path, what, std::strerror(errno)));
  ::close(fd);
  ::unlink(trial.c_str());
}

void writeFileSafely(const std::string& path, const std::string& bytes, const std::string& what) {
  auto fail = [&](const std::string& reason) {
    throw Error(fmt::format("{}: error: cannot write {}: {}", path, what, reason));
  };
  struct stat st {};
  // A regular file keeps its permissions (a 0600 checkpoint stays 0600); a new one gets the umask's.
  mode_t mode = 0666 & ~currentUmask();
  if (::lstat(path.c_str(), &st) == 0) {
    if (std::string why = unwritableKind(st); !why.empty()) fail(why);
    if (S_ISREG(st.st_mode)) mode = st.st_mode & 07777;
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
      // A device or a pipe is written in place: replacing /dev/null with a file would break the system.
      // Non-blocking open: a FIFO nobody reads is an error, not a hang.
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0) fail(errno == ENXIO ? "it is a FIFO that no one reads" : std::strerror(errno));
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      bool ok = writeAll(fd, bytes);
      int err = errno;
      ::close(fd);
      if (!ok) fail(std::strerror(err));
      return;
    }
  }
  std::string dir = directoryOf(path);
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());  // O_EXCL: never opens a name someone planted
  if (fd < 0) fail(std::strerror(errno));
  auto discard = [&](const std::string& reason) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(reason);
  };
  if (::fchmod(fd, mode) != 0) discard(std::strerror(errno));
  if (!writeAll(fd, bytes)) discard(errno ? std::strerror(errno) : "short write (disk full?)");
  if (::fsync(fd) != 0) discard(std::strerror(errno));
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail(std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(std::strerror(err));
  }
  // The rename itself is durable once the directory is synced.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

BoundedFile::BoundedFile(const std::string& path, uint64_t maxBytes, const std::string& what) : path_(path), what_(what) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not hang the open
  if (fd_ < 0) throw Error(fmt::format("{}: error: cannot open {}: {}", path, what, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error(fmt::format("{}: error: {} is not a regular file", path, what));
  }
  size_ = uint64_t(st.st_size);
  if (size_ > maxBytes) {
    ::close(fd_);
    throw Error(fmt::format("{}: error: {} is {}, more than the {} graphc reads", path, what, formatBytes(size_),
                            formatBytes(maxBytes)));
  }
}

BoundedFile::~BoundedFile() { ::close(fd_); }

void BoundedFile::readAt(uint64_t offset, char* dst, uint64_t bytes) const {
  uint64_t done = 0;
  while (done < bytes) {
    ssize_t n = ::pread(fd_, dst + done, size_t(bytes - done), off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(fmt::format("{}: error: {} ends at byte {} (it shrank while read?)", path_, what_, offset + done));
    done += uint64_t(n);
  }
}

std::string readFileBounded(const std::string& path, uint64_t maxBytes, const std::string& what) {
  BoundedFile file(path, maxBytes, what);
  std::string bytes(size_t(file.size()), '\0');
  file.readAt(0, bytes.data(), file.size());
  return bytes;
}

}  // namespace graphc
