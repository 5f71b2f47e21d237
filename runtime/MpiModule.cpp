// runtime/MpiModule.cpp — joinMpiWorld and friends (runtime/Communicator.h)
// through the MPI module, loaded from libgraphc's own directory the first time
// a run asks for MPI. Loaded RTLD_GLOBAL: Open MPI dlopens its own components,
// which look for libmpi's symbols in the global scope.
#include <dlfcn.h>
#include <fmt/format.h>

#include <mutex>
#include <string>

#include "graph/Error.h"
#include "runtime/Communicator.h"
#include "runtime/MpiModule.h"

namespace graphc {
namespace {

// The module's path: beside the library this function is in (the build tree
// or the installed lib directory), empty when graphc was built without MPI.
std::string modulePath() {
#ifdef GRAPHC_MPI_MODULE
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&modulePath), &info) == 0 || !info.dli_fname) return GRAPHC_MPI_MODULE;
  std::string self = info.dli_fname;
  size_t slash = self.rfind('/');
  return (slash == std::string::npos ? std::string() : self.substr(0, slash + 1)) + GRAPHC_MPI_MODULE;
#else
  return "";
#endif
}

struct Module {
  decltype(&graphc_mpi_join) join = nullptr;
  decltype(&graphc_mpi_finish) finish = nullptr;
};

// Loads the module once; throws saying why it cannot.
const Module& module() {
  static std::mutex mutex;
  static Module loaded;
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded.join) return loaded;
  std::string path = modulePath();
  if (path.empty())
    throw Error(
        "graphc: error: this graphc was built without MPI, so it trains in one process only (install Open MPI, "
        "e.g. apt-get install libopenmpi-dev openmpi-bin, and rebuild)");
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) throw Error(fmt::format("graphc: error: cannot load the MPI module: {}", dlerror()));
  auto join = reinterpret_cast<decltype(&graphc_mpi_join)>(dlsym(handle, "graphc_mpi_join"));
  auto finish = reinterpret_cast<decltype(&graphc_mpi_finish)>(dlsym(handle, "graphc_mpi_finish"));
  if (!join || !finish) throw Error(fmt::format("graphc: error: {} is not graphc's MPI module", path));
  loaded = {join, finish};
  return loaded;
}

bool loadedOnce = false;

}  // namespace

bool builtWithMpi() { return !modulePath().empty(); }

std::unique_ptr<Communicator> joinMpiWorld(double timeoutSeconds) {
  const Module& m = module();
  loadedOnce = true;
  return std::unique_ptr<Communicator>(m.join(timeoutSeconds));
}

void finishMpi() {
  if (loadedOnce) module().finish();
}

}  // namespace graphc
