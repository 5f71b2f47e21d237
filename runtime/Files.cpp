// runtime/Files.cpp — atomic file writes.
#include "runtime/Files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "graph/Error.h"

namespace graphc {

void writeFileAtomically(const std::string& path, const std::string& bytes, const std::string& what) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("{}: error: cannot write {}: {}", path, what, std::strerror(errno)));
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      throw Error(fmt::format("{}: error: writing {} failed (disk full?)", path, what));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(fmt::format("{}: error: cannot write {}: {}", path, what, ec.message()));
  }
}

}  // namespace graphc
